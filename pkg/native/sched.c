// thread_set_idle(tid): one of this process's own threads to the SCHED_IDLE policy. pkg/launch/helper-threads.ts
// puts V8's helper threads (optimizing compiler, GC helpers) there, so that a packet's wake-up never waits for a
// compile job of the same process (docs/differences-from-nebula.md, the data path). Which threads is decided in
// TypeScript.
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mesh_native.h"

napi_value thread_set_idle(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  int32_t tid;
  if (mt_get_args(env, info, 1, argv) < 0 || mt_get_i32(env, argv[0], &tid) < 0) return NULL;
  if (tid <= 0) {
    mt_throw_range(env, "thread_set_idle: tid must be positive");
    return NULL;
  }
  // Only a thread of this process: tgkill with signal 0 checks that `tid` belongs to our thread group (ESRCH if
  // not), so a wrong id can never change another process's scheduling.
  if (syscall(SYS_tgkill, getpid(), tid, 0) < 0) {
    mt_throw_errno(env, "tgkill", errno);
    return NULL;
  }
  struct sched_param param = {.sched_priority = 0};
  if (sched_setscheduler(tid, SCHED_IDLE, &param) < 0) {
    mt_throw_errno(env, "sched_setscheduler", errno);
    return NULL;
  }
  return NULL;
}
