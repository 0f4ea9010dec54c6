/*
 * script.h — the script transform: UTF-8 text to a compact byte form in
 * which the letters of Burmese (and Shan, Mon), Khmer, Lao and Thai cost one
 * byte each instead of three, before compression (pure).
 *
 * The idea is Unicode's SCSU (UTS #6): a current "window" of 128 code
 * points; bytes 0x80..0xFF address it; ASCII passes through; a few tag
 * bytes switch windows or quote one character.  The format (version
 * SCRIPT_VERSION, bump on any change):
 *
 *   byte         meaning
 *   0x01 c       QUOTE: c is one complete, strictly valid UTF-8 character
 *                (1..4 bytes), output as is.  Used for characters no window
 *                reaches and for the literal bytes 0x01 and 0x10..0x18.
 *   0x10+k       SELECT fixed window k (k = 0..7, table below).
 *   0x18 b       DEFINE: the current window becomes the 128 code points
 *                from b * 0x80 (b = 0x01..0xFF; 0x00 is malformed).
 *   0x80..0xFF   one character of the current window (malformed before any
 *                SELECT or DEFINE).
 *   other        0x00, 0x02..0x0F, 0x19..0x7F: that ASCII byte itself.
 *
 * A window is four 32-code-point quarters; byte b means code point
 * quarter[(b - 0x80) / 32] + (b % 32).  Fixed windows:
 *
 *   k tag  quarters (start of each)             for
 *   0 0x10 U+0080 U+00A0 U+00C0 U+00E0          Latin-1 (é, ñ, °)
 *   1 0x11 U+2000 U+2020 U+2040 U+2060          punctuation (’ “ ” … •)
 *   2 0x12 U+0E00 U+0E20 U+0E40 U+0E60          Thai
 *   3 0x13 U+0E80 U+0EA0 U+0EC0 U+0EE0          Lao
 *   4 0x14 U+1000 U+1020 U+1040 U+1060          Burmese, Mon, Karen
 *   5 0x15 U+1000 U+1020 U+1060 U+1080          Shan (skips digits)
 *   6 0x16 U+1000 U+1020 U+A9E0 U+AA60          Myanmar Extended-A/B
 *   7 0x17 U+1780 U+17A0 U+17C0 U+17E0          Khmer
 *
 * A DEFINEd window has the four consecutive quarters from b * 0x80.  No
 * window reaches a surrogate or a code point above U+FFFF, so a decoded
 * stream is always valid UTF-8.  The state at the start of every call is
 * "no window": each encoded text stands alone.
 *
 * Sizes: encoding is at most SCRIPT_ENCODE_MAX(n) bytes (a tag byte quoted
 * costs 2); decoding at most SCRIPT_DECODE_MAX(n) (one window byte gives up
 * to 3 UTF-8 bytes).  Callers keep n under SCRIPT_INPUT_MAX so the macros
 * cannot overflow.
 */
#ifndef LIFELINE_PROTO_SCRIPT_H
#define LIFELINE_PROTO_SCRIPT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

#define SCRIPT_VERSION 1u
#define SCRIPT_INPUT_MAX (1u << 24)   /* longest input either direction */
#define SCRIPT_ENCODE_MAX(n) (2u * (size_t)(n))
#define SCRIPT_DECODE_MAX(n) (3u * (size_t)(n))

#define SCRIPT_TAG_QUOTE 0x01u
#define SCRIPT_TAG_SELECT0 0x10u      /* SELECT window k is 0x10 + k */
#define SCRIPT_FIXED_WINDOWS 8u
#define SCRIPT_TAG_DEFINE 0x18u
#define SCRIPT_CODEPOINT_MAX 0x10ffffu
#define SCRIPT_UTF8_CHAR_MAX 4u      /* bytes in the longest UTF-8 character */

/*
 * Decodes one strictly valid UTF-8 character from s (n > 0 bytes
 * available): no overlongs, no surrogates, nothing above U+10FFFF, no
 * truncation.  On success stores the code point and its length and
 * returns 0; otherwise ERR_UTF8 (also for n == 0).
 */
int script_utf8_next(const uint8_t *s, size_t n, uint32_t *cp, size_t *len) LL_MUST_CHECK;

/*
 * Checks that s[0..n) is strictly valid UTF-8.  Returns 0, or ERR_UTF8
 * with *bad_off (if not NULL) set to the offset of the first byte of the
 * first invalid or truncated sequence.
 */
int script_utf8_check(const uint8_t *s, size_t n, size_t *bad_off) LL_MUST_CHECK;

/*
 * Transforms UTF-8 text utf8[0..n) into out[0..cap).  Nothing is retained.
 * Returns the encoded length; ERR_UTF8 if the input is not valid UTF-8
 * (script_utf8_check() gives the offset); ERR_FULL if cap is too small
 * (SCRIPT_ENCODE_MAX(n) always suffices); ERR_TOOBIG if n is over
 * SCRIPT_INPUT_MAX.  Deterministic: the same text always gives the same
 * bytes.
 */
ssize_t script_encode(const uint8_t *utf8, size_t n, uint8_t *out, size_t cap) LL_MUST_CHECK;

/*
 * Reverses script_encode(): in[0..n) to UTF-8 in utf8_out[0..cap).  Returns
 * the UTF-8 length; ERR_INVAL for malformed input (window byte before any
 * window, QUOTE not followed by one valid UTF-8 character, DEFINE 0x00 or
 * cut short); ERR_FULL if cap is too small (SCRIPT_DECODE_MAX(n) always
 * suffices); ERR_TOOBIG if n is over SCRIPT_INPUT_MAX.  The output is
 * always valid UTF-8.
 */
ssize_t script_decode(const uint8_t *in, size_t n, uint8_t *utf8_out, size_t cap) LL_MUST_CHECK;

#endif
