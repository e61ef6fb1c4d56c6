/* Verdicts and time-outs for the virtio scenarios. */
#include "vguest.h"

/* Generous: the TSC runs at 1-4 GHz on these hosts. */
#define CYCLES_PER_SECOND 4000000000ull

_Noreturn void pass(const char *fmt, ...)
{
	va_list ap;

	print("vjtest: %s ok ", scenario);
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	print("\n");
	machine_reset();
}

_Noreturn void fail(const char *fmt, ...)
{
	va_list ap;

	print("vjtest: %s FAIL ", scenario);
	va_start(ap, fmt);
	vprint(fmt, ap);
	va_end(ap);
	print("\n");
	machine_reset();
}

uint64_t deadline_after(unsigned seconds)
{
	return rdtsc() + seconds * CYCLES_PER_SECOND;
}

bool past(uint64_t deadline)
{
	return rdtsc() > deadline;
}
