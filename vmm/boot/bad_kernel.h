/* How the image loaders (elf.c, bzimage.c) refuse a kernel file. */
#ifndef VJ_BOOT_BAD_KERNEL_H
#define VJ_BOOT_BAD_KERNEL_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* "kernel NAME: <reason>" into err; -EINVAL, for the loader to return. */
static inline __attribute__((format(printf, 4, 5))) int
vj_bad_kernel(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
	int n = snprintf(err, errlen, "kernel %s: ", name);
	va_list ap;

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

#endif
