// The Go side of bench/primitive-floor.ts: what Nebula 1.6.1's handshake primitives cost on this machine, through
// the libraries it calls (crypto/ed25519 for certificate signatures, golang.org/x/crypto/curve25519 for X25519),
// built with Debian's Go (golang-go 1.19 and golang-golang-x-crypto-dev 0.4.0, the toolchain and library version
// Debian builds its nebula 1.6.1 with). Prints one JSON object: microseconds per operation, warm.
//
// Build (bench/primitive-floor.ts does it when Go is installed):
//   GO111MODULE=off GOPATH=/usr/share/gocode go build -o OUT bench/go/primitive-floor.go

package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"strconv"
	"time"

	"golang.org/x/crypto/curve25519"
)

// perOp times fn over n calls after a warm-up and returns microseconds per call.
func perOp(n int, fn func(i int)) float64 {
	for i := 0; i < n/10+1; i++ {
		fn(i)
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		fn(i)
	}
	return float64(time.Since(start).Nanoseconds()) / float64(n) / 1000
}

func main() {
	n := 2000
	if len(os.Args) > 1 {
		if v, err := strconv.Atoi(os.Args[1]); err == nil && v > 0 {
			n = v
		}
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	details := make([]byte, 180) // about a host certificate's signed details
	rand.Read(details)
	sig := ed25519.Sign(priv, details)

	// Fresh peer keys per call, as a lighthouse meets a new node in each handshake.
	peers := make([][]byte, n)
	for i := range peers {
		s := make([]byte, 32)
		rand.Read(s)
		peers[i], _ = curve25519.X25519(s, curve25519.Basepoint)
	}
	secret := make([]byte, 32)
	rand.Read(secret)

	out := map[string]float64{
		"ed25519Verify": perOp(n, func(int) { ed25519.Verify(pub, details, sig) }),
		"x25519KeyPair": perOp(n, func(int) {
			s := make([]byte, 32)
			rand.Read(s)
			curve25519.X25519(s, curve25519.Basepoint)
		}),
		"x25519Shared": perOp(n, func(i int) { curve25519.X25519(secret, peers[i%len(peers)]) }),
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
