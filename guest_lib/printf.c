// SPDX-License-Identifier: GPL-2.0-only
/*
 * guest_vsnprintf(): C99 snprintf for guest code.  The contract is in
 * include/guest/printf.h.  Everything is integer arithmetic on general
 * purpose registers; no libc calls.
 */
#include <stdint.h>
#include <stdbool.h>

#include "guest/printf.h"

#define F_MINUS		0x01
#define F_ZERO		0x02
#define F_HASH		0x04
#define F_PLUS		0x08
#define F_SPACE		0x10

struct out {
	char *buf;
	size_t size;
	size_t len;	/* length of the full output, even past size */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_n(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

static void put_str(struct out *o, const char *s, int n)
{
	while (n-- > 0)
		put(o, *s++);
}

/* Length of s, but look at no more than max bytes (max < 0: no limit). */
static int str_len(const char *s, int max)
{
	int n = 0;

	while ((max < 0 || n < max) && s[n])
		n++;
	return n;
}

/*
 * One integer conversion.  The output is laid out as
 *   [pad][sign or 0x prefix][zeros][digits][pad]
 * where precision gives the minimum digit count and the 0 flag (ignored
 * with a precision or with -) turns the left pad into zeros after the
 * prefix (C11 7.21.6.1).
 */
static void put_int(struct out *o, uint64_t v, bool neg, int base, bool upper,
		    int flags, int width, int prec, char conv)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	const char *prefix = "";
	int ndig = 0, nzero, plen, total;

	while (v) {
		tmp[ndig++] = digits[v % base];
		v /= base;
	}
	/* A zero value with precision 0 prints no digits at all. */
	if (!ndig && prec != 0)
		tmp[ndig++] = '0';

	if (neg)
		prefix = "-";
	else if (conv == 'd' || conv == 'i')
		prefix = (flags & F_PLUS) ? "+" : (flags & F_SPACE) ? " " : "";
	else if (conv == 'p' || ((flags & F_HASH) && base == 16 && ndig &&
				 !(ndig == 1 && tmp[0] == '0')))
		prefix = upper ? "0X" : "0x";

	nzero = prec > ndig ? prec - ndig : 0;
	/* '#' with 'o' raises the precision so that the first digit is 0. */
	if (conv == 'o' && (flags & F_HASH) && !nzero &&
	    (!ndig || tmp[ndig - 1] != '0'))
		nzero = 1;

	plen = str_len(prefix, -1);
	total = plen + nzero + ndig;
	if ((flags & F_ZERO) && !(flags & F_MINUS) && prec < 0 && width > total) {
		nzero += width - total;
		total = width;
	}

	if (!(flags & F_MINUS))
		put_n(o, ' ', width - total);
	put_str(o, prefix, plen);
	put_n(o, '0', nzero);
	while (ndig)
		put(o, tmp[--ndig]);
	if (flags & F_MINUS)
		put_n(o, ' ', width - total);
}

static void put_padded(struct out *o, const char *s, int n, int flags, int width)
{
	if (!(flags & F_MINUS))
		put_n(o, ' ', width - n);
	put_str(o, s, n);
	if (flags & F_MINUS)
		put_n(o, ' ', width - n);
}

enum length { L_NONE, L_HH, L_H, L_L, L_LL, L_Z, L_T, L_J };

static uint64_t get_unsigned(va_list *ap, enum length len)
{
	switch (len) {
	case L_HH: return (unsigned char)va_arg(*ap, unsigned int);
	case L_H: return (unsigned short)va_arg(*ap, unsigned int);
	case L_NONE: return va_arg(*ap, unsigned int);
	case L_L: return va_arg(*ap, unsigned long);
	case L_LL: return va_arg(*ap, unsigned long long);
	case L_Z: return va_arg(*ap, size_t);
	case L_T: return (uint64_t)va_arg(*ap, ptrdiff_t);
	case L_J: return va_arg(*ap, uintmax_t);
	}
	return 0;
}

static int64_t get_signed(va_list *ap, enum length len)
{
	switch (len) {
	case L_HH: return (signed char)va_arg(*ap, int);
	case L_H: return (short)va_arg(*ap, int);
	case L_NONE: return va_arg(*ap, int);
	case L_L: return va_arg(*ap, long);
	case L_LL: return va_arg(*ap, long long);
	case L_Z: return (int64_t)va_arg(*ap, size_t);
	case L_T: return va_arg(*ap, ptrdiff_t);
	case L_J: return va_arg(*ap, intmax_t);
	}
	return 0;
}

static int parse_num(const char **p)
{
	int n = 0;

	while (**p >= '0' && **p <= '9') {
		if (n < 100000000)
			n = n * 10 + (**p - '0');
		(*p)++;
	}
	return n;
}

/* What a conversion specification says besides the conversion itself. */
struct spec {
	int flags, width, prec;		/* prec < 0: none */
	enum length len;
};

/*
 * Parse the flags, width, precision and length of a conversion
 * specification; p is just past the '%'.  Returns where the conversion
 * character is (or the terminating NUL).
 */
static const char *parse_spec(const char *p, va_list *ap, struct spec *sp)
{
	*sp = (struct spec){ .prec = -1, .len = L_NONE };

	for (;; p++) {
		if (*p == '-')
			sp->flags |= F_MINUS;
		else if (*p == '0')
			sp->flags |= F_ZERO;
		else if (*p == '#')
			sp->flags |= F_HASH;
		else if (*p == '+')
			sp->flags |= F_PLUS;
		else if (*p == ' ')
			sp->flags |= F_SPACE;
		else
			break;
	}

	if (*p == '*') {
		sp->width = va_arg(*ap, int);
		/* A negative width argument is a '-' flag (C11 7.21.6.1p5). */
		if (sp->width < 0) {
			sp->flags |= F_MINUS;
			sp->width = sp->width == INT32_MIN ? INT32_MAX : -sp->width;
		}
		p++;
	} else {
		sp->width = parse_num(&p);
	}

	if (*p == '.') {
		p++;
		if (*p == '*') {
			sp->prec = va_arg(*ap, int);
			if (sp->prec < 0)
				sp->prec = -1;	/* as if omitted */
			p++;
		} else {
			sp->prec = parse_num(&p);
		}
	}

	switch (*p) {
	case 'h':
	case 'l': {
		/* hh and ll: the letter doubled. */
		bool twice = p[1] == p[0];

		if (*p == 'h')
			sp->len = twice ? L_HH : L_H;
		else
			sp->len = twice ? L_LL : L_L;
		p += twice ? 2 : 1;
		break;
	}
	case 'z': sp->len = L_Z; p++; break;
	case 't': sp->len = L_T; p++; break;
	case 'j': sp->len = L_J; p++; break;
	}
	return p;
}

/* Output one conversion; false if conv is not one this printf supports. */
static bool put_conversion(struct out *o, char conv, const struct spec *sp, va_list *ap)
{
	int flags = sp->flags, width = sp->width, prec = sp->prec;
	uint64_t u;
	int64_t s;
	char c;

	switch (conv) {
	case 'd':
	case 'i':
		s = get_signed(ap, sp->len);
		u = s < 0 ? -(uint64_t)s : (uint64_t)s;
		put_int(o, u, s < 0, 10, false, flags, width, prec, conv);
		break;
	case 'u':
		put_int(o, get_unsigned(ap, sp->len), false, 10, false, flags, width, prec, 'u');
		break;
	case 'x':
	case 'X':
		put_int(o, get_unsigned(ap, sp->len), false, 16, conv == 'X', flags, width, prec,
			'x');
		break;
	case 'o':
		put_int(o, get_unsigned(ap, sp->len), false, 8, false, flags, width, prec, 'o');
		break;
	case 'p':
		u = (uintptr_t)va_arg(*ap, void *);
		if (!u)
			put_padded(o, "(nil)", 5, flags, width);
		else
			put_int(o, u, false, 16, false, flags & ~F_HASH, width, prec, 'p');
		break;
	case 's': {
		const char *str = va_arg(*ap, const char *);

		/* glibc prints "(null)" only when the precision allows all of it. */
		if (!str)
			str = (prec < 0 || prec >= 6) ? "(null)" : "";
		put_padded(o, str, str_len(str, prec), flags, width);
		break;
	}
	case 'c':
		c = (char)va_arg(*ap, int);
		put_padded(o, &c, 1, flags, width);
		break;
	case '%':
		put(o, '%');
		break;
	default:
		return false;
	}
	return true;
}

int guest_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = { .buf = buf, .size = size };
	const char *p = fmt;
	va_list ap;

	/* Work on a copy so helpers can take a pointer to it portably. */
	va_copy(ap, ap_in);

	while (*p) {
		const char *start = p;
		struct spec sp;

		if (*p != '%') {
			put(&o, *p++);
			continue;
		}
		p = parse_spec(p + 1, &ap, &sp);
		if (!*p) {
			/* A lone '%' at the end: print what was there. */
			put_str(&o, start, p - start);
			continue;
		}
		/* Unsupported conversion: print it as written. */
		if (!put_conversion(&o, *p, &sp, &ap))
			put_str(&o, start, p + 1 - start);
		p++;
	}

	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int guest_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = guest_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
