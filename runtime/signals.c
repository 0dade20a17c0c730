/* signals.c: signals read from a signalfd in the node's poll, so that
 * they are handled on the one thread, between messages, like any event. */
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "scheduler.h"
#include "service.h"
#include "signals.h"
#include "socket.h"

static int signal_fd = -1;

static void on_signal(void *ud)
{
	(void)ud;
	struct signalfd_siginfo si;
	while (read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			wisp_services_signal(SIGHUP);
		} else {
			wisp_log(NULL, WISP_LOG_INFO, "stopping on signal %u",
				si.ssi_signo);
			wisp_scheduler_stop(0);
		}
	}
}

int wisp_signals_init(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* a peer that goes away must not kill the node: writes see EPIPE */
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_fd < 0)
		return -1;
	return wisp_poll_watch(signal_fd, on_signal, NULL);
}

void wisp_signals_exit(void)
{
	if (signal_fd >= 0)
		close(signal_fd);
	signal_fd = -1;
}
