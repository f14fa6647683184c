// Batched reads woken by the event loop: a uv_poll_t watches the fd; when it is readable a reader (tun.c: read(),
// udp.c: recvmmsg()) fills the slots of one JS-owned buffer until the kernel has no more or the slots are full,
// then JS is called once with the count. No thread, no timer. Per-packet facts (length, for UDP the sender) go
// into a JS-owned Uint32Array, `stride` words per slot.
//
// Lifetime: <object>_poll_start holds strong references to the buffer, the records, the callback and its own
// handle, so none of them can be collected while the kernel may still write into them. <object>_poll_stop stops
// the watcher at once (safe inside the callback) and drops those references when libuv has closed the handle. An
// async cleanup hook stays registered until that close callback has run: environment teardown (a worker ending)
// waits for it, so the callback never runs after node has unloaded this library.
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

#include "mesh_native.h"

// Batches per loop iteration, whichever handle reads them: then the rest of the loop (timers, setImmediate, the
// other polls) runs. The poll is level-triggered, so what the socket still holds wakes it again; what a reader
// holds itself (`pending`, see mt_batch_t) cannot wait for that, so an idle handle (which keeps the loop from
// blocking) reads it, still within the budget, one iteration after another until none is held. A check handle,
// run once per iteration, gives the budget back (docs/state-machines.md "Receive batches").
#define ROUNDS_PER_WAKEUP 4

uint32_t mt_read_each(mt_batch_t *b, int *err) {
  uint32_t n = 0;
  while (n < b->slot_count) {
    ssize_t r = read(b->fd, b->slots + (size_t) n * b->slot_size, b->slot_size);
    if (r >= 0) {
      b->meta[n++] = (uint32_t) r;
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) *err = errno;
    break;
  }
  return n;
}

typedef struct {
  uv_poll_t poll;
  uv_idle_t held;  // active while the reader holds packets the budget left: the loop must not block on the fd
  uv_check_t turn; // active once a batch was read this iteration: gives the budget back after the poll phase
  uint32_t spent;  // batches read this iteration
  napi_env env;
  mt_batch_t batch;
  mt_reader_t read_batch;
  napi_ref buf_ref, meta_ref, cb_ref, self_ref;
  napi_async_context async;
  napi_async_cleanup_hook_handle cleanup;
  int active;       // watcher running; cleared by stop
  int tearing_down; // the environment is going away: no more calls into JS or napi references
  int open_handles; // poll, held, turn: libuv is done with them at 0
  int js_released;  // the JS external was finalized
} mt_poll_t;

static void maybe_free(mt_poll_t *p) {
  if (p->open_handles > 0 || !p->js_released) return;
  free(p->batch.state);
  free(p);
}

static void on_uv_closed(uv_handle_t *handle) {
  mt_poll_t *p = handle->data;
  if (--p->open_handles > 0) return;
  if (!p->tearing_down) {
    napi_delete_reference(p->env, p->buf_ref);
    napi_delete_reference(p->env, p->meta_ref);
    napi_delete_reference(p->env, p->cb_ref);
    napi_delete_reference(p->env, p->self_ref);
    napi_async_destroy(p->env, p->async);
  }
  napi_remove_async_cleanup_hook(p->cleanup);
  maybe_free(p);
}

static void stop(mt_poll_t *p) {
  if (!p->active) return;
  p->active = 0;
  uv_poll_stop(&p->poll);
  uv_idle_stop(&p->held);
  uv_check_stop(&p->turn);
  uv_close((uv_handle_t *) &p->poll, on_uv_closed);
  uv_close((uv_handle_t *) &p->held, on_uv_closed);
  uv_close((uv_handle_t *) &p->turn, on_uv_closed);
}

// Node tears references down itself at teardown; we only have to get libuv to close the handle.
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *data) {
  mt_poll_t *p = data;
  p->tearing_down = 1;
  stop(p);
}

static void on_finalize(napi_env env, void *data, void *hint) {
  mt_poll_t *p = data;
  p->js_released = 1;
  maybe_free(p);
}

// cb(err: Error | null, count: number). A read error stops the watcher before JS hears of it.
static void call_js(mt_poll_t *p, int err, uint32_t count) {
  napi_env env = p->env;
  napi_value cb, global, argv[2], result;
  napi_get_reference_value(env, p->cb_ref, &cb);
  napi_get_global(env, &global);
  if (err) {
    argv[0] = mt_errno_error(env, "read", err);
  } else {
    napi_get_null(env, &argv[0]);
  }
  napi_create_uint32(env, count, &argv[1]);
  // napi_make_callback, unlike napi_call_function, runs the microtask queue afterwards as node's own I/O does.
  if (napi_make_callback(env, p->async, global, cb, 2, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
}

// After the poll phase (and setImmediate): the next iteration may read ROUNDS_PER_WAKEUP batches again.
static void on_turn_end(uv_check_t *handle) {
  mt_poll_t *p = handle->data;
  p->spent = 0;
  uv_check_stop(handle);
}

static void on_held(uv_idle_t *handle);

// Reads batches while the iteration's budget lasts and there may be more: the batch came back full, or the reader
// still holds packets. Called from the poll (the fd is readable) and from `held` (the reader holds packets).
static void read_rounds(mt_poll_t *p) {
  napi_handle_scope scope;
  napi_open_handle_scope(p->env, &scope);
  while (p->active && p->spent < ROUNDS_PER_WAKEUP) {
    if (p->spent++ == 0) uv_check_start(&p->turn, on_turn_end);
    int err;
    uint32_t n = p->read_batch(&p->batch, &err);
    if (err) stop(p);
    // A batch read before the error is still delivered, then the error on its own.
    if (n > 0) call_js(p, 0, n);
    if (err) {
      call_js(p, err, 0);
      break;
    }
    if (n < p->batch.slot_count && !p->batch.pending) break;
  }
  // Packets the reader already holds cannot wait for the fd to become readable again (it may never be).
  if (p->active && p->batch.pending) {
    uv_idle_start(&p->held, on_held);
  } else {
    uv_idle_stop(&p->held);
  }
  napi_close_handle_scope(p->env, scope);
}

static void on_held(uv_idle_t *handle) {
  mt_poll_t *p = handle->data;
  if (p->tearing_down) return;
  read_rounds(p);
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  mt_poll_t *p = handle->data;
  if (p->tearing_down) return;
  if (status < 0) {
    napi_handle_scope scope;
    napi_open_handle_scope(p->env, &scope);
    stop(p);
    call_js(p, -status, 0);
    napi_close_handle_scope(p->env, scope);
    return;
  }
  // With the budget spent the fd stays readable and wakes us in the next iteration, after the rest of the loop.
  read_rounds(p);
}

// <object>_poll_start(fd, buf: Uint8Array, meta: Uint32Array, slotSize, cb): handle. Slot i is
// buf[i * slotSize .. (i + 1) * slotSize); the batch holds min(buf.length / slotSize, meta.length / stride) slots.
napi_value mt_poll_start(napi_env env, napi_callback_info info, mt_reader_t reader, uint32_t stride, const char *name) {
  napi_value argv[5];
  int32_t fd;
  uint32_t slot_size;
  mt_view_t buf, meta;
  napi_valuetype cb_type;
  if (mt_get_args(env, info, 5, argv) < 0 || mt_get_i32(env, argv[0], &fd) < 0 ||
      mt_get_view(env, argv[1], napi_uint8_array, &buf) < 0 ||
      mt_get_view(env, argv[2], napi_uint32_array, &meta) < 0 || mt_get_u32(env, argv[3], &slot_size) < 0) {
    return NULL;
  }
  if (napi_typeof(env, argv[4], &cb_type) != napi_ok || cb_type != napi_function) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "cb must be a function");
    return NULL;
  }
  size_t slot_count = slot_size == 0 ? 0 : buf.byte_length / slot_size;
  if (slot_count > meta.length / stride) slot_count = meta.length / stride;
  if (slot_count == 0) {
    mt_throw_range(env, "the buffers must hold at least one slot");
    return NULL;
  }

  mt_poll_t *p = calloc(1, sizeof(*p));
  if (p == NULL) {
    mt_throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  p->env = env;
  p->batch.fd = fd;
  p->batch.slots = buf.data;
  p->batch.meta = meta.data;
  p->batch.slot_size = slot_size;
  p->batch.slot_count = (uint32_t) slot_count;
  p->read_batch = reader;
  p->poll.data = p;
  p->held.data = p;
  p->turn.data = p;

  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  int err = uv_poll_init(loop, &p->poll, fd);
  if (err < 0) {
    free(p);
    mt_throw_errno(env, "uv_poll_init", -err);
    return NULL;
  }
  // Neither keeps the loop alive on its own: the poll does, as before.
  uv_idle_init(loop, &p->held);
  uv_check_init(loop, &p->turn);
  uv_unref((uv_handle_t *) &p->held);
  uv_unref((uv_handle_t *) &p->turn);
  p->open_handles = 3;

  napi_value handle, resource_name;
  napi_create_external(env, p, on_finalize, NULL, &handle);
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
  napi_async_init(env, handle, resource_name, &p->async);
  napi_create_reference(env, argv[1], 1, &p->buf_ref);
  napi_create_reference(env, argv[2], 1, &p->meta_ref);
  napi_create_reference(env, argv[4], 1, &p->cb_ref);
  napi_create_reference(env, handle, 1, &p->self_ref);

  napi_add_async_cleanup_hook(env, on_env_teardown, p, &p->cleanup);
  err = uv_poll_start(&p->poll, UV_READABLE, on_readable);
  p->active = 1;
  if (err < 0) {
    stop(p);
    mt_throw_errno(env, "uv_poll_start", -err);
    return NULL;
  }
  return handle;
}

// <object>_poll_stop(handle): idempotent; safe from inside the callback.
napi_value mt_poll_stop(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (mt_get_args(env, info, 1, argv) < 0) return NULL;
  mt_poll_t *p;
  if (napi_get_value_external(env, argv[0], (void **) &p) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "expected a poll handle");
    return NULL;
  }
  stop(p);
  return NULL;
}
