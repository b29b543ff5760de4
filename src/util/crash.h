/* What mailroom leaves when it dies of a fatal signal (SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGABRT): a crash report — version, signal, time, pid and
 * the backtrace (function names and addresses only, never memory contents)
 * — on stderr and appended to DATA/crash.log (0600). Core dumps are turned
 * off, because the process holds decrypted credentials while it checks
 * accounts; MAILROOM_CORE_DUMPS=1 keeps them for a developer. */
#ifndef MR_UTIL_CRASH_H
#define MR_UTIL_CRASH_H

void mr_crash_install(const char *data_dir);

#endif
