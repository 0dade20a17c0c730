/* signals.h: SIGTERM and SIGINT stop the node in order; SIGHUP goes to
 * every service's signal hook (the logger reopens its file). */
#ifndef WISP_SIGNALS_H
#define WISP_SIGNALS_H

int wisp_signals_init(void);
void wisp_signals_exit(void);

#endif
