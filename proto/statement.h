/*
 * statement.h — the monthly compliance statement a shore signs for a vessel
 * owner (issue 7), and its LLDOC wrapping (document kind 2, pure).
 *
 * A statement says, for one vessel and one calendar month in the vessel's
 * quota zone, what each crew member was allowed, used (as counted on
 * board, and as arrived ashore), how often and at what usage level they
 * were refused, what their texts cost in bytes on air, and how available
 * the link was.  It holds no message text, no complaint content, no contact
 * and no name, and it links no crew member to any complaint or SOS:
 * complaints and SOS are counted per vessel only.
 *
 * Body layout, version 1 (STATEMENT_VERSION), integers little-endian and
 * fixed-width, signed integers two's complement:
 *
 *     off  bytes  field
 *     0    1      version 01
 *     1    4      vessel id
 *     5    4      period YYYYMM (in the zone below)
 *     9    4      zone, seconds east of UTC (int32)
 *     13   8      period start, Unix s (local 00:00 on day 1)
 *     21   8      period end, Unix s (start of the next month)
 *     29   8      issued, Unix s (shore clock)
 *     37   8      covered until, Unix s: min(issued, end); the figures
 *                 count what the shore held for [start, covered until)
 *     45   4      heartbeat interval, s, as the vessel reports it (0 unknown)
 *     49   4      heartbeats received in the period
 *     53   4      heartbeats expected: (covered until - start) / interval
 *     57   2      days with contact (local days with an accepted bundle)
 *     59   2      days covered (local days of [start, covered until))
 *     61   8      longest silence, s: the longest span of the covered part
 *                 with no accepted bundle (edges included)
 *     69   4      bundles accepted in the period (shore clock)
 *     73   8      airtime bytes: those bundles' sealed sizes
 *     81   8      of which not attributed to a crew member
 *     89   4      crew registered (the period's last heartbeat)
 *     93   4      crew on board (the period's last heartbeat)
 *     97   4      complaints received (per vessel; never per crew member)
 *     101  4      SOS received (per vessel)
 *     105  3      currency, ISO 4217 letters, or 00 00 00 without a price
 *     108  8      price per 1,000,000 bytes on air, in millionths (0 none)
 *     116  8      cost in millionths: airtime * price / 10^6, rounded down
 *     124  1      flags: 01 someone was refused while the text would have
 *                 fit their allowance; 02 an on-board count differs from
 *                 what arrived; 04 a crew member with texts arrived has
 *                 no on-board report
 *     125  2      crew entries n, 0..STATEMENT_CREW_MAX, ids ascending
 *     127  ...    n crew entries:
 *          0  4   crew id (>= 1)
 *          4  8   allowance, bytes per month
 *          12 8   bytes used as counted on board (QUOTA_REPORT)
 *          20 1   01 on-board report received, 00 none
 *          21 8   text bytes arrived ashore (texts written in the period)
 *          29 4   texts arrived
 *          33 4   of which delivered
 *          37 4   of which failed
 *          41 8   airtime bytes: own compressed sections plus a share of
 *                 each bundle's overhead proportional to them
 *          49 4   refusals in the period
 *          53 4   of which below the allowance (the text would have fit)
 *          57 1   refusals detailed k, 0..STATEMENT_REFUSALS_MAX (latest)
 *          58 24k k x (time Unix s, bytes used before, bytes attempted)
 *
 * The flags are derived from the entries and must agree with them; nothing
 * may follow the last entry.  The document is LLDOC kind 2 with one part of
 * type 3 signed by the shore under "lifeline statement v1" (evidence.h).
 */
#ifndef LIFELINE_PROTO_STATEMENT_H
#define LIFELINE_PROTO_STATEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"
#include "proto/evidence.h"

#define STATEMENT_VERSION 1u            /* bump on any change to the layout */
#define STATEMENT_HDR_BYTES 127u
#define STATEMENT_CREW_BYTES 58u        /* one entry without its refusals */
#define STATEMENT_REFUSAL_BYTES 24u
#define STATEMENT_CREW_MAX 128u         /* keeps the body under DOC_BODY_MAX */
#define STATEMENT_REFUSALS_MAX 8u
#define STATEMENT_CURRENCY_BYTES 3u
#define STATEMENT_BYTES_PER_MB 1000000u /* the price unit: a decimal megabyte */
#define STATEMENT_MICRO 1000000u        /* prices and costs in millionths */
#define STATEMENT_BODY_MAX (STATEMENT_HDR_BYTES + STATEMENT_CREW_MAX * \
			    (STATEMENT_CREW_BYTES + STATEMENT_REFUSALS_MAX * STATEMENT_REFUSAL_BYTES))
#define STATEMENT_DOC_MAX (DOC_HDR_BYTES + DOC_PART_HDR_BYTES + STATEMENT_BODY_MAX + \
			   DOC_PART_TRAILER_BYTES)

#define STATEMENT_F_REFUSED_BELOW 0x01u
#define STATEMENT_F_COUNT_MISMATCH 0x02u
#define STATEMENT_F_UNREPORTED 0x04u
#define STATEMENT_F_ALL 0x07u

struct statement_refusal {
	uint64_t ts;
	uint64_t used;
	uint64_t attempted;
};

struct statement_crew {
	uint32_t crew_id;
	uint64_t allowance;
	uint64_t used_on_board;
	bool reported;
	uint64_t text_bytes;
	uint32_t messages, delivered, failed;
	uint64_t airtime;
	uint32_t refusals, refused_below;
	size_t nref;
	struct statement_refusal ref[STATEMENT_REFUSALS_MAX];
};

struct statement {
	uint32_t vessel;
	uint32_t period;
	int32_t zone;
	int64_t start, end, issued, until;
	uint32_t hb_interval, hb_received, hb_expected;
	uint16_t days_contact, days_covered;
	uint64_t longest_silence;
	uint32_t bundles;
	uint64_t airtime, airtime_unattributed;
	uint32_t crew_registered, crew_on_board;
	uint32_t complaints, sos;
	char currency[STATEMENT_CURRENCY_BYTES + 1];    /* "" without a price */
	uint64_t price_micro;
	uint64_t cost_micro;
	uint8_t flags;                  /* statement_flags(): set by the encoder */
	size_t ncrew;
	struct statement_crew crew[STATEMENT_CREW_MAX];
};

/* The flags the entries imply (STATEMENT_F_*). */
uint8_t statement_flags(const struct statement *s);

/* airtime * price_micro / 10^6 rounded down, without overflow for any
 * airtime below 2^44 and price below 10^12; UINT64_MAX if it would
 * overflow. */
uint64_t statement_cost(uint64_t airtime, uint64_t price_micro);

/* Writes the body (flags computed, s->flags ignored).  out NULL with cap 0
 * measures.  Returns the length, ERR_INVAL (a rule of the layout broken:
 * ids not ascending or 0, too many refusals detailed or more detailed
 * than counted, refused_below > refusals, a bad period, currency or time
 * order), ERR_TOOBIG (more than STATEMENT_CREW_MAX entries), ERR_FULL. */
ssize_t statement_encode(const struct statement *s, uint8_t *out, size_t cap) LL_MUST_CHECK;

/* Parses exactly in[0..len).  Returns 0, ERR_TRUNC, ERR_VERSION,
 * ERR_TOOBIG (entries), ERR_INVAL (a rule broken, flags that disagree
 * with the entries, trailing bytes).  *why (may be NULL) names the rule. */
int statement_parse(const uint8_t *in, size_t len, struct statement *s, const char **why) LL_MUST_CHECK;

/* Encodes s, signs it with the shore key (sk 64 bytes, pk its public half)
 * and wraps it as an LLDOC kind-2 document into out.  Returns the length
 * or statement_encode(), doc_sign(), doc_encode() errors. */
ssize_t statement_doc_sign(const struct statement *s, const uint8_t sk[DOC_SIGN_SK_BYTES],
			   const uint8_t pk[DOC_SIGN_PK_BYTES], uint8_t *out, size_t cap) LL_MUST_CHECK;

/* Verifies a statement document offline: envelope, the shore's signature,
 * then the body.  Returns 0 with *s and *shore_pk (points into in) filled,
 * or doc_verify()'s errors, ERR_VERSION (not a statement), or
 * statement_parse()'s.  *why (may be NULL) names exactly what failed. */
int statement_verify(const uint8_t *in, size_t len, struct statement *s, const uint8_t **shore_pk,
		     const char **why) LL_MUST_CHECK;

#endif
