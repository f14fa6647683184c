// The data path's AEAD on node's own OpenSSL (the symbols node exports; no library of our own): AES-256-GCM and
// ChaCha20-Poly1305 through the EVP interface, single packets or batches in one crossing. Only the cipher runs
// here: the handshake, key derivation, the replay window and the firewall stay in TypeScript
// (docs/security-model.md). Nonce layout as pkg/noise/aead.ts: 4 zero bytes, then the counter as a uint64,
// big-endian for AES-GCM and little-endian for ChaCha20-Poly1305.
//
// A context (one per tunnel and direction) is a JS external holding its key in C memory; JS wipes its own copy once
// aead_create returns. aead_close clears the key and frees the context now; the finalizer does it for contexts JS
// forgot. After close every call throws an Error with code EAEADCLOSED.
//
// OpenSSL cipher contexts are lent, not owned: a keyed EVP_CIPHER_CTX costs 0.6-1.2 KiB resident (method copies,
// see evp_of; ~1.4 KiB as provider contexts), two to three times the whole key of the node:crypto path, and a
// lighthouse holds tens of thousands of tunnels that are mostly idle. The HOT_LIMIT most recently used contexts keep a
// keyed EVP context; using a cold one re-keys the least recently used EVP context for it (a key schedule, well under a
// microsecond; bench/aead.ts "cold"). Keying transfers ownership, so no EVP context ever holds a key its owner no
// longer has; a closed context's EVP context is freed (OpenSSL clears it). The hot list is process-wide and not locked:
// contexts are created and used on the main thread only, and a second napi_env (a worker) is refused.
// EVP_CIPHER_meth_dup is deprecated in OpenSSL 3.0 (still exported by node's OpenSSL); evp_of looks it up at run time.
#include <dlfcn.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mesh_native.h"

#define AEAD_KEY_LEN 32
#define AEAD_TAG_LEN 16
#define AEAD_NONCE_LEN 12
// Counters are integers in [0, 2^53): exactly what a double carries (pkg/noise/aead.ts).
#define AEAD_COUNTER_LIMIT 9007199254740992.0
// Per-packet records of a batch: [ad offset, ad length, input offset, input length, output offset].
#define AEAD_META_WORDS 5
// Keyed EVP contexts kept at most: ~1.5 MiB. A node moving data through fewer tunnels than half of this never
// re-keys; beyond it, each packet on a cold tunnel pays one key schedule.
#define HOT_LIMIT 1024

enum { AEAD_AES = 0, AEAD_CHACHA = 1 };

typedef struct aead_s aead_t;
struct aead_s {
  uint8_t key[AEAD_KEY_LEN];
  int cipher;
  bool closed;
  EVP_CIPHER_CTX *ctx;   // keyed with `key` while hot, NULL while cold
  aead_t *newer, *older; // the hot list, while ctx != NULL
};

static struct {
  aead_t *newest, *oldest;
  uint32_t count;
  napi_env env; // the one environment allowed to use contexts
} hot;

static void hot_unlink(aead_t *a) {
  if (a->newer)
    a->newer->older = a->older;
  else
    hot.newest = a->older;
  if (a->older)
    a->older->newer = a->newer;
  else
    hot.oldest = a->newer;
  a->newer = a->older = NULL;
  hot.count--;
}

static void hot_push(aead_t *a) {
  a->older = hot.newest;
  a->newer = NULL;
  if (hot.newest) hot.newest->newer = a;
  hot.newest = a;
  if (hot.oldest == NULL) hot.oldest = a;
  hot.count++;
}

// OpenSSL 3.0 runs a provider's cipher through parameter lists looked up by name: every packet's nonce costs an IV
// length query (EVP_CIPHER_CTX_get_iv_length, ~8 name comparisons in the provider) and every tag a ctrl translated
// into one more list. A method copy (EVP_CIPHER_meth_dup, origin "method") is run by EVP's own dispatch instead: the
// same libcrypto AES-GCM and ChaCha20-Poly1305 code (AES-NI, CLMUL/AVX GHASH), with the nonce and tag calls going
// straight to it. Measured by instruction count: seal + open of a 64-byte packet 5384 -> 3391 (AES-GCM), 7362 -> 5446
// (ChaCha20-Poly1305) (docs/security-model.md "Session keys"). Under FIPS the provider must do the work, so the copy
// is not used; nor if OpenSSL will not make it. EVP_CIPHER_meth_dup is looked up at run time, not linked: a node
// whose OpenSSL was built without deprecated functions lacks it, and then the provider's cipher is used (as with
// MESH_AEAD_PROVIDER=1, which the tests use to run that path).
typedef EVP_CIPHER *(*meth_dup_fn)(const EVP_CIPHER *);
static const EVP_CIPHER *evp_of(int cipher) {
  static EVP_CIPHER *copies[2];
  static bool tried[2];
  const EVP_CIPHER *provided = cipher == AEAD_AES ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
  if (!tried[cipher]) {
    tried[cipher] = true;
    const char *force_provider = getenv("MESH_AEAD_PROVIDER");
    meth_dup_fn meth_dup = (meth_dup_fn) dlsym(RTLD_DEFAULT, "EVP_CIPHER_meth_dup");
    if (meth_dup != NULL && !EVP_default_properties_is_fips_enabled(NULL) &&
        !(force_provider != NULL && strcmp(force_provider, "1") == 0))
      copies[cipher] = meth_dup(provided);
  }
  return copies[cipher] != NULL ? copies[cipher] : provided;
}

// The keyed EVP context for `a`, made most recently used; NULL if OpenSSL failed (out of memory).
static EVP_CIPHER_CTX *hot_ctx(aead_t *a) {
  if (a->ctx != NULL) {
    if (hot.newest != a) {
      hot_unlink(a);
      hot_push(a);
    }
    return a->ctx;
  }
  EVP_CIPHER_CTX *ctx = NULL;
  const EVP_CIPHER *cipher = evp_of(a->cipher);
  if (hot.count >= HOT_LIMIT) {
    aead_t *victim = hot.oldest;
    hot_unlink(victim);
    ctx = victim->ctx;
    victim->ctx = NULL;
    // Re-keying below overwrites the victim's key schedule. Of the same cipher (the rule: one cipher per network),
    // the context is keyed as it is: a reset would free and clear OpenSSL's cipher state and the init fetch and
    // allocate it again, twice the key schedule's cost on a lighthouse whose every packet finds its tunnel cold.
    if (a->cipher == victim->cipher)
      cipher = NULL;
    else
      EVP_CIPHER_CTX_reset(ctx);
  } else {
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return NULL;
  }
  // Both ciphers default to a 12-byte nonce; the key is set here, the nonce per packet.
  if (EVP_CipherInit_ex(ctx, cipher, NULL, a->key, NULL, 1) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    return NULL;
  }
  a->ctx = ctx;
  hot_push(a);
  return ctx;
}

static void throw_closed(napi_env env) {
  napi_throw_error(env, "EAEADCLOSED", "AEAD context used after close");
}

// Clears the key and gives back the EVP context (freed, which clears it); idempotent.
static void aead_clear(aead_t *a) {
  if (a->ctx != NULL) {
    hot_unlink(a);
    EVP_CIPHER_CTX_free(a->ctx);
    a->ctx = NULL;
  }
  OPENSSL_cleanse(a->key, sizeof(a->key));
  a->closed = true;
}

static void aead_finalize(napi_env env, void *data, void *hint) {
  aead_clear((aead_t *) data);
  free(data);
}

// Returns the context, or NULL with a JS exception pending (not an external of ours, or closed).
static aead_t *get_aead(napi_env env, napi_value v) {
  napi_valuetype type;
  void *data = NULL;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_external ||
      napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an AEAD context");
    return NULL;
  }
  aead_t *a = data;
  if (a->closed) {
    throw_closed(env);
    return NULL;
  }
  return a;
}

static bool valid_counter(double counter) {
  return counter >= 0 && counter < AEAD_COUNTER_LIMIT && counter == (double) (uint64_t) counter;
}

static void write_nonce(int cipher, double counter, uint8_t nonce[AEAD_NONCE_LEN]) {
  uint64_t n = (uint64_t) counter;
  memset(nonce, 0, 4);
  for (int i = 0; i < 8; i++) {
    int shift = cipher == AEAD_AES ? 8 * (7 - i) : 8 * i;
    nonce[4 + i] = (uint8_t) (n >> shift);
  }
}

// Two ranges that overlap without being the same start: OpenSSL refuses to work on those (in place is fine).
static bool partially_overlap(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  if (a == b || a_len == 0 || b_len == 0) return false;
  return a < b + b_len && b < a + a_len;
}

// Seals `len` bytes at `in` into `out` (may be `in`), tag right after. Returns 1, or 0 if OpenSSL failed.
static int seal_one(EVP_CIPHER_CTX *ctx, int cipher, double counter, const uint8_t *ad, size_t ad_len,
                    const uint8_t *in, size_t len, uint8_t *out) {
  uint8_t nonce[AEAD_NONCE_LEN];
  int outl = 0;
  write_nonce(cipher, counter, nonce);
  if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 1) != 1) return 0;
  if (ad_len > 0 && EVP_CipherUpdate(ctx, NULL, &outl, ad, (int) ad_len) != 1) return 0;
  if (len > 0 && EVP_CipherUpdate(ctx, out, &outl, in, (int) len) != 1) return 0;
  if (EVP_CipherFinal_ex(ctx, out + len, &outl) != 1) return 0;
  return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, AEAD_TAG_LEN, out + len) == 1;
}

// Opens `len` bytes (ciphertext and tag) at `in` into `out` (may be `in`). Returns 1 if it authenticates; otherwise
// 0, and the bytes written to `out` are wiped (unauthenticated plaintext never reaches JS).
static int open_one(EVP_CIPHER_CTX *ctx, int cipher, double counter, const uint8_t *ad, size_t ad_len,
                    const uint8_t *in, size_t len, uint8_t *out) {
  if (len < AEAD_TAG_LEN || !valid_counter(counter)) return 0;
  size_t body = len - AEAD_TAG_LEN;
  uint8_t nonce[AEAD_NONCE_LEN], tag[AEAD_TAG_LEN];
  int outl = 0, ok = 0;
  memcpy(tag, in + body, AEAD_TAG_LEN); // in place, the body's plaintext must not overwrite the tag first
  write_nonce(cipher, counter, nonce);
  if (ctx != NULL && EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 0) == 1 &&
      (ad_len == 0 || EVP_CipherUpdate(ctx, NULL, &outl, ad, (int) ad_len) == 1) &&
      (body == 0 || EVP_CipherUpdate(ctx, out, &outl, in, (int) body) == 1) &&
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, AEAD_TAG_LEN, tag) == 1 &&
      EVP_CipherFinal_ex(ctx, out + body, &outl) == 1) {
    ok = 1;
  }
  if (!ok) OPENSSL_cleanse(out, body);
  return ok;
}

// aead_create(cipher: 0 = AES-256-GCM | 1 = ChaCha20-Poly1305, key: Uint8Array(32)) -> context
napi_value aead_create(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint32_t cipher;
  mt_view_t key;
  if (mt_get_args(env, info, 2, argv) || mt_get_u32(env, argv[0], &cipher) ||
      mt_get_view(env, argv[1], napi_uint8_array, &key)) {
    return NULL;
  }
  if (cipher != AEAD_AES && cipher != AEAD_CHACHA) {
    mt_throw_range(env, "unknown AEAD cipher");
    return NULL;
  }
  if (key.byte_length != AEAD_KEY_LEN) {
    mt_throw_range(env, "AEAD key must be 32 bytes");
    return NULL;
  }
  if (hot.env == NULL) hot.env = env;
  if (hot.env != env) {
    napi_throw_error(env, "EAEADTHREAD", "AEAD contexts live on the main thread only");
    return NULL;
  }
  aead_t *a = calloc(1, sizeof(*a));
  if (a == NULL) {
    mt_throw_errno(env, "aead_create", ENOMEM);
    return NULL;
  }
  a->cipher = (int) cipher;
  memcpy(a->key, key.data, AEAD_KEY_LEN);
  // Keyed now: a new tunnel is about to be used, and OpenSSL's refusal is better seen here than per packet.
  if (hot_ctx(a) == NULL) {
    aead_clear(a);
    free(a);
    napi_throw_error(env, "EAEADKEY", "OpenSSL refused the AEAD context");
    return NULL;
  }
  napi_value external;
  if (napi_create_external(env, a, aead_finalize, NULL, &external) != napi_ok) {
    aead_clear(a);
    free(a);
    return NULL;
  }
  return external;
}

// aead_close(context): frees and clears now; a second close is a no-op, any other later call throws.
napi_value aead_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  void *data = NULL;
  if (mt_get_args(env, info, 1, argv)) return NULL;
  if (napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected an AEAD context");
    return NULL;
  }
  aead_clear(data); // the finalizer and later calls see a closed context
  return NULL;
}

static int get_counter(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a number");
    return -1;
  }
  return 0;
}

// aead_seal(context, counter, ad, plaintext, out, outOffset) -> bytes written (plaintext length + 16).
// Throws RangeError for a counter outside [0, 2^53), a short `out`, or `out` partly overlapping the plaintext.
napi_value aead_seal(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  double counter;
  mt_view_t ad, pt, out;
  uint32_t out_off;
  if (mt_get_args(env, info, 6, argv) || get_counter(env, argv[1], &counter) ||
      mt_get_view(env, argv[2], napi_uint8_array, &ad) || mt_get_view(env, argv[3], napi_uint8_array, &pt) ||
      mt_get_view(env, argv[4], napi_uint8_array, &out) || mt_get_u32(env, argv[5], &out_off)) {
    return NULL;
  }
  aead_t *a = get_aead(env, argv[0]);
  if (a == NULL) return NULL;
  if (!valid_counter(counter)) {
    mt_throw_range(env, "AEAD counter out of range");
    return NULL;
  }
  size_t total = pt.byte_length + AEAD_TAG_LEN;
  if ((uint64_t) out_off + total > out.byte_length || pt.byte_length > INT32_MAX || ad.byte_length > INT32_MAX) {
    mt_throw_range(env, "AEAD output does not fit");
    return NULL;
  }
  uint8_t *dst = (uint8_t *) out.data + out_off;
  if (partially_overlap(pt.data, pt.byte_length, dst, total)) {
    mt_throw_range(env, "AEAD output overlaps the plaintext");
    return NULL;
  }
  EVP_CIPHER_CTX *ctx = hot_ctx(a);
  if (ctx == NULL || !seal_one(ctx, a->cipher, counter, ad.data, ad.byte_length, pt.data, pt.byte_length, dst)) {
    napi_throw_error(env, "EAEADSEAL", "OpenSSL failed to seal");
    return NULL;
  }
  napi_value result;
  napi_create_uint32(env, (uint32_t) total, &result);
  return result;
}

// aead_open(context, counter, ad, ciphertextAndTag, out) -> true if it authenticates (plaintext in out[0..len-16]).
// False, never a throw, for anything a sender controls: short input, counter out of range, wrong tag.
napi_value aead_open(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  double counter;
  mt_view_t ad, ct, out;
  if (mt_get_args(env, info, 5, argv) || get_counter(env, argv[1], &counter) ||
      mt_get_view(env, argv[2], napi_uint8_array, &ad) || mt_get_view(env, argv[3], napi_uint8_array, &ct) ||
      mt_get_view(env, argv[4], napi_uint8_array, &out)) {
    return NULL;
  }
  aead_t *a = get_aead(env, argv[0]);
  if (a == NULL) return NULL;
  int ok = 0;
  if (ct.byte_length >= AEAD_TAG_LEN && ct.byte_length <= INT32_MAX && ad.byte_length <= INT32_MAX) {
    size_t body = ct.byte_length - AEAD_TAG_LEN;
    if (out.byte_length < body) {
      mt_throw_range(env, "AEAD output does not fit");
      return NULL;
    }
    if (partially_overlap(ct.data, body, out.data, body)) {
      mt_throw_range(env, "AEAD output overlaps the ciphertext");
      return NULL;
    }
    ok = open_one(hot_ctx(a), a->cipher, counter, ad.data, ad.byte_length, ct.data, ct.byte_length, out.data);
  }
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}

typedef struct {
  aead_t *a;
  uint8_t *buf;
  size_t buf_len;
  const uint32_t *meta;
  const double *counters;
  uint32_t count;
} batch_args_t;

// (context, buf, meta, counters, count): the shared arguments of both batch calls.
static int get_batch(napi_env env, napi_value *argv, batch_args_t *b) {
  mt_view_t buf, meta, counters;
  if (mt_get_view(env, argv[1], napi_uint8_array, &buf) || mt_get_view(env, argv[2], napi_uint32_array, &meta) ||
      mt_get_view(env, argv[3], napi_float64_array, &counters) || mt_get_u32(env, argv[4], &b->count)) {
    return -1;
  }
  if ((uint64_t) b->count * AEAD_META_WORDS > meta.length || b->count > counters.length) {
    mt_throw_range(env, "AEAD batch count exceeds its records");
    return -1;
  }
  b->a = get_aead(env, argv[0]);
  if (b->a == NULL) return -1;
  b->buf = buf.data;
  b->buf_len = buf.byte_length;
  b->meta = meta.data;
  b->counters = counters.data;
  return 0;
}

static bool in_buf(const batch_args_t *b, uint64_t off, uint64_t len) {
  return off + len <= b->buf_len && len <= INT32_MAX;
}

// Checks every record of `b` (counter, bounds, overlap), then seals them all. Returns 0, or -1 with a JS exception
// pending: a bad record throws before any is sealed.
static int seal_records(napi_env env, const batch_args_t *b) {
  for (uint32_t i = 0; i < b->count; i++) {
    const uint32_t *m = b->meta + (size_t) i * AEAD_META_WORDS;
    if (!valid_counter(b->counters[i])) {
      mt_throw_range(env, "AEAD counter out of range");
      return -1;
    }
    if (!in_buf(b, m[0], m[1]) || !in_buf(b, m[2], m[3]) || !in_buf(b, m[4], (uint64_t) m[3] + AEAD_TAG_LEN) ||
        partially_overlap(b->buf + m[2], m[3], b->buf + m[4], (size_t) m[3] + AEAD_TAG_LEN)) {
      mt_throw_range(env, "AEAD batch record out of bounds");
      return -1;
    }
  }
  EVP_CIPHER_CTX *ctx = hot_ctx(b->a);
  for (uint32_t i = 0; i < b->count; i++) {
    const uint32_t *m = b->meta + (size_t) i * AEAD_META_WORDS;
    if (ctx == NULL ||
        !seal_one(ctx, b->a->cipher, b->counters[i], b->buf + m[0], m[1], b->buf + m[2], m[3], b->buf + m[4])) {
      napi_throw_error(env, "EAEADSEAL", "OpenSSL failed to seal");
      return -1;
    }
  }
  return 0;
}

// Opens every record of `b`: flags[i] = 1 if record i authenticated, else 0 with its output wiped. Returns how many
// did. Never throws: all of it is what a sender controls.
static uint32_t open_records(const batch_args_t *b, uint8_t *flags) {
  uint32_t opened = 0;
  EVP_CIPHER_CTX *ctx = hot_ctx(b->a);
  for (uint32_t i = 0; i < b->count; i++) {
    const uint32_t *m = b->meta + (size_t) i * AEAD_META_WORDS;
    flags[i] = 0;
    if (m[3] < AEAD_TAG_LEN || !in_buf(b, m[0], m[1]) || !in_buf(b, m[2], m[3]) ||
        !in_buf(b, m[4], m[3] - AEAD_TAG_LEN) ||
        partially_overlap(b->buf + m[2], m[3] - AEAD_TAG_LEN, b->buf + m[4], m[3] - AEAD_TAG_LEN)) {
      continue;
    }
    flags[i] =
        (uint8_t) open_one(ctx, b->a->cipher, b->counters[i], b->buf + m[0], m[1], b->buf + m[2], m[3], b->buf + m[4]);
    opened += flags[i];
  }
  return opened;
}

// aead_seal_batch(context, buf, meta, counters: Float64Array, count) -> count. Record i of `meta` (5 words):
// [adOff, adLen, plaintextOff, plaintextLen, outOff]; ciphertext and tag go to buf[outOff..+plaintextLen+16]
// (outOff may equal plaintextOff: in place). Every record is checked before any is sealed; a bad one throws.
napi_value aead_seal_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  batch_args_t b;
  if (mt_get_args(env, info, 5, argv) || get_batch(env, argv, &b) || seal_records(env, &b)) return NULL;
  napi_value result;
  napi_create_uint32(env, b.count, &result);
  return result;
}

// aead_open_batch(context, buf, meta, counters, count, ok: Uint8Array) -> how many authenticated. Record i:
// [adOff, adLen, inputOff, inputLen (ciphertext and tag), outOff]; ok[i] = 1 with the plaintext at
// buf[outOff..+inputLen-16], else 0 (short, out of bounds, counter out of range, wrong tag) with that output wiped.
napi_value aead_open_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  batch_args_t b;
  mt_view_t ok;
  if (mt_get_args(env, info, 6, argv) || get_batch(env, argv, &b) || mt_get_view(env, argv[5], napi_uint8_array, &ok)) {
    return NULL;
  }
  if (ok.byte_length < b.count) {
    mt_throw_range(env, "AEAD batch ok flags too short");
    return NULL;
  }
  uint32_t opened = open_records(&b, ok.data);
  napi_value result;
  napi_create_uint32(env, opened, &result);
  return result;
}

// (context, buf, counter, adOff, adLen, inputOff, inputLen, outOff): one record as plain numbers. A batch of one
// (a lighthouse's usual crossing) then converts one typed array instead of three and the count: ~25% fewer
// instructions in the call (bench/RESULTS.md, session 14).
static int get_single(napi_env env, napi_value *argv, batch_args_t *b, uint32_t m[AEAD_META_WORDS], double *counter) {
  mt_view_t buf;
  if (mt_get_view(env, argv[1], napi_uint8_array, &buf) || get_counter(env, argv[2], counter)) return -1;
  for (int i = 0; i < AEAD_META_WORDS; i++) {
    if (mt_get_u32(env, argv[3 + i], &m[i])) return -1;
  }
  b->a = get_aead(env, argv[0]);
  if (b->a == NULL) return -1;
  b->buf = buf.data;
  b->buf_len = buf.byte_length;
  b->meta = m;
  b->counters = counter;
  b->count = 1;
  return 0;
}

// aead_seal_single(context, buf, counter, adOff, adLen, plaintextOff, plaintextLen, outOff) -> bytes written
// (plaintextLen + 16): aead_seal_batch's one record, with its checks and throws.
napi_value aead_seal_single(napi_env env, napi_callback_info info) {
  napi_value argv[3 + AEAD_META_WORDS];
  batch_args_t b;
  uint32_t m[AEAD_META_WORDS];
  double counter;
  if (mt_get_args(env, info, 3 + AEAD_META_WORDS, argv) || get_single(env, argv, &b, m, &counter) ||
      seal_records(env, &b)) {
    return NULL;
  }
  napi_value result;
  napi_create_uint32(env, m[3] + AEAD_TAG_LEN, &result);
  return result;
}

// aead_open_single(context, buf, counter, adOff, adLen, inputOff, inputLen, outOff) -> true if it authenticated:
// aead_open_batch's one record (false, output wiped, for anything a sender controls).
napi_value aead_open_single(napi_env env, napi_callback_info info) {
  napi_value argv[3 + AEAD_META_WORDS];
  batch_args_t b;
  uint32_t m[AEAD_META_WORDS];
  double counter;
  uint8_t ok = 0;
  if (mt_get_args(env, info, 3 + AEAD_META_WORDS, argv) || get_single(env, argv, &b, m, &counter)) return NULL;
  open_records(&b, &ok);
  napi_value result;
  napi_get_boolean(env, ok, &result);
  return result;
}
