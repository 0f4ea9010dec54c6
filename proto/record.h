/*
 * record.h — typed, length-prefixed, extensible records (pure).
 *
 * A records block (a bundle's plaintext body) is a run of records:
 *
 *     record = [type varint][length varint][body: length bytes]
 *
 * Every integer in a body is a minimal varint (proto/varint.h); byte
 * strings are [length varint][bytes]; hashes and signatures are fixed-size
 * raw bytes.  A decoder skips records of a type it does not know and reports
 * them as RECORD_UNKNOWN (never fatal), and ignores bytes after the last
 * field it knows inside a known record, so that a later version may append
 * optional fields.  Any change to an existing field bumps the bundle
 * version.
 *
 * Timestamps are unix seconds, coded as the zigzag varint of
 * (timestamp - base): base 0 gives absolute times (5 bytes today); a bundle
 * that carries a base time in its header passes it to the *_base functions
 * and a record queued minutes before the bundle then spends 1-2 bytes on
 * its time.  See proto/PROTOCOL.md, "Records".
 *
 * Decoded byte strings point into the caller's input: no copy, no
 * allocation.  The input must outlive the decoded record.
 */
#ifndef LIFELINE_PROTO_RECORD_H
#define LIFELINE_PROTO_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/err.h"

/* ---- limits -------------------------------------------------------------- */
/* Largest body of any record, known or not: its length varint then fits
 * in 2 bytes. */
#define RECORD_BODY_MAX 16383u
/* Largest header: type and length varints. */
#define RECORD_HEADER_MAX 20u
#define RECORD_TEXT_MAX 4096u          /* TEXT, REPLY, SOS text bytes */
#define RECORD_SHORT_TEXT_MAX 280u     /* CASE_UPDATE text bytes */
#define RECORD_ADDRESS_MAX 254u        /* CONTACT address (RFC 5321 path) */
#define RECORD_NAME_MAX 128u           /* CONTACT display name bytes */
#define RECORD_BLOB_MAX 8192u          /* COMPLAINT sealed blob bytes */
#define RECORD_RECEIPT_MAX 64u         /* RECEIPT ranges per record */
#define RECORD_SMALL_ID_MAX UINT32_MAX /* crew ids, contact refs, counters */
#define RECORD_HASH_BYTES 32u          /* CHECKPOINT chain hash */
#define RECORD_SIG_BYTES 64u           /* CHECKPOINT Ed25519 signature */
/* Positions: signed fixed point in units of 1e-5 degree (about 1.1 m). */
#define RECORD_POS_SCALE 100000
#define RECORD_LAT_MAX (90 * RECORD_POS_SCALE)
#define RECORD_LON_MAX (180 * RECORD_POS_SCALE)
/* QUOTA_REPORT: refusals detailed in one record (the most recent). */
#define RECORD_REFUSALS_MAX 8u
/* QUOTA_REPORT: the vessel's quota zone, seconds east of UTC (+-14 h). */
#define RECORD_ZONE_MAX_S (14 * 3600)
/* Flag bits of SOS and HEARTBEAT.  Unknown bits are ignored on decode. */
#define RECORD_FLAG_POS 0x1u

/* ---- types on the wire (never reuse a number) ---------------------------- */
enum record_type {
	RECORD_UNKNOWN = 0,     /* also the reserved wire type 0 */
	RECORD_TEXT = 1,        /* crew -> contact */
	RECORD_REPLY = 2,       /* contact -> crew */
	RECORD_CONTACT = 3,     /* crew registers or changes a contact */
	RECORD_COMPLAINT = 4,   /* sealed to the inspectorate */
	RECORD_SOS = 5,
	RECORD_RECEIPT = 6,     /* shore -> vessel: message states */
	RECORD_CASE_UPDATE = 7, /* shore -> vessel: complaint case status */
	RECORD_HEARTBEAT = 8,   /* vessel status */
	RECORD_CHECKPOINT = 9,  /* signature over a hash chain of bundles */
	RECORD_QUOTA_REPORT = 10, /* vessel -> shore: a crew member's month as counted on board */
	RECORD_TYPE_LAST_ = RECORD_QUOTA_REPORT
};

enum record_channel {
	RECORD_CHANNEL_EMAIL = 0,
	RECORD_CHANNEL_SMS = 1,
	RECORD_CHANNEL_CHAT = 2,
	RECORD_CHANNEL_LAST_ = RECORD_CHANNEL_CHAT
};

enum record_msg_state {
	RECORD_STATE_ACCEPTED = 0,  /* committed by the shore */
	RECORD_STATE_DELIVERED = 1, /* handed to the contact's channel */
	RECORD_STATE_FAILED = 2,    /* will not be delivered; see reason */
	RECORD_STATE_LAST_ = RECORD_STATE_FAILED
};

/* Reason codes of a receipt range.  Any value travels (a newer shore may
 * send codes an older vessel shows as a number). */
#define RECORD_REASON_NONE 0u
#define RECORD_REASON_UNKNOWN_CONTACT 1u
#define RECORD_REASON_UNDELIVERABLE 2u
#define RECORD_REASON_REFUSED 3u
#define RECORD_REASON_EXPIRED 4u

enum record_case_status {
	RECORD_CASE_RECEIVED = 0,
	RECORD_CASE_ASSIGNED = 1,
	RECORD_CASE_INVESTIGATING = 2,
	RECORD_CASE_ACTION_TAKEN = 3,
	RECORD_CASE_CLOSED = 4,
	RECORD_CASE_LAST_ = RECORD_CASE_CLOSED
};

/* ---- record bodies ------------------------------------------------------- */
/* A byte string: points into the decoded input, or at caller memory when
 * encoding.  ptr may be NULL only when len is 0. */
struct record_bytes {
	const uint8_t *ptr;
	size_t len;
};

struct record_pos {
	int32_t lat;    /* 1e-5 degree, north positive, |lat| <= RECORD_LAT_MAX */
	int32_t lon;    /* 1e-5 degree, east positive, |lon| <= RECORD_LON_MAX */
};

struct record_text {            /* TEXT: crew -> contact */
	uint64_t msg_id;        /* vessel-unique */
	uint64_t ts;            /* unix seconds */
	uint32_t crew_id;
	uint32_t contact_ref;   /* from an earlier CONTACT */
	struct record_bytes text;       /* <= RECORD_TEXT_MAX, opaque */
};

struct record_reply {           /* REPLY: contact -> crew */
	uint64_t msg_id;        /* shore-assigned, unique per vessel */
	uint64_t ts;
	uint32_t crew_id;
	uint32_t contact_ref;
	struct record_bytes text;       /* <= RECORD_TEXT_MAX */
};

struct record_contact {         /* CONTACT: sent once, then referenced */
	uint64_t msg_id;        /* orders updates of one contact_ref */
	uint64_t ts;
	uint32_t crew_id;
	uint32_t contact_ref;
	enum record_channel channel;
	struct record_bytes address;    /* <= RECORD_ADDRESS_MAX */
	struct record_bytes name;       /* <= RECORD_NAME_MAX, may be empty */
};

struct record_complaint {       /* COMPLAINT: opaque to all but inspectors */
	uint64_t msg_id;
	uint64_t ts;
	struct record_bytes blob;       /* 1..RECORD_BLOB_MAX */
};

struct record_sos {
	uint64_t msg_id;
	uint64_t ts;
	uint32_t crew_id;
	bool has_pos;
	struct record_pos pos;
	struct record_bytes text;       /* <= RECORD_TEXT_MAX; empty = none */
};

/* ids first .. first + count - 1 are all in one state. */
struct record_receipt_range {
	uint64_t first;
	uint64_t count;         /* >= 1 */
	enum record_msg_state state;
	uint32_t reason;        /* RECORD_REASON_* */
};

struct record_receipt {         /* RECEIPT: ranges strictly ascending */
	size_t n;               /* 1..RECORD_RECEIPT_MAX */
	struct record_receipt_range r[RECORD_RECEIPT_MAX];
};

struct record_case_update {     /* CASE_UPDATE: shore -> vessel */
	uint64_t case_ref;      /* msg_id of the complaint */
	enum record_case_status status;
	uint64_t ts;
	struct record_bytes text;       /* <= RECORD_SHORT_TEXT_MAX; empty = none */
};

struct record_heartbeat {
	uint64_t ts;
	uint32_t queue_depth;   /* messages waiting on board */
	uint32_t crew_on_board;
	uint32_t crew_registered;
	bool has_pos;
	struct record_pos pos;
};

struct record_checkpoint {
	uint64_t seq_first;     /* bundle sequence range covered, inclusive */
	uint64_t seq_last;      /* >= seq_first */
	uint8_t chain_hash[RECORD_HASH_BYTES];
	uint8_t sig[RECORD_SIG_BYTES];
};

/* One refusal of a text for quota, as vesseld decided it. */
struct record_refusal {
	uint64_t ts;            /* unix seconds, vessel clock */
	uint64_t used;          /* bytes counted in the period before the text */
	uint64_t attempted;     /* UTF-8 bytes of the refused text */
};

/*
 * QUOTA_REPORT: cumulative figures of one crew member for one month, as
 * counted on board (vessel section only).  Each report replaces the
 * previous one for (crew, period); refusals are numbered 1..refusals in
 * the period and the record details numbers first..first+n-1.  crew_id 0
 * is a settings-only report (no crew member used anything yet): used,
 * refusals and n are then 0.  zone and interval are the vessel's
 * settings the shore's ledger needs (they compress to almost nothing).
 */
struct record_quota_report {
	uint32_t crew_id;
	uint32_t period;        /* YYYYMM in the vessel's quota zone */
	int32_t zone;           /* quota zone, seconds east of UTC */
	uint32_t interval;      /* heartbeat interval, seconds (>= 1) */
	uint64_t allowance;     /* bytes per crew member per month */
	uint64_t used;          /* bytes counted on board in period */
	uint32_t refusals;      /* refusals in period, all of them */
	uint32_t first;         /* number of r[0]; 0 when n == 0 */
	size_t n;               /* 0..RECORD_REFUSALS_MAX */
	struct record_refusal r[RECORD_REFUSALS_MAX];
};

struct record_unknown {         /* a type this version does not know */
	uint64_t type;          /* the wire type (0 or > RECORD_TYPE_LAST_) */
	struct record_bytes body;       /* <= RECORD_BODY_MAX */
};

struct record {
	enum record_type type;
	union {
		struct record_text text;
		struct record_reply reply;
		struct record_contact contact;
		struct record_complaint complaint;
		struct record_sos sos;
		struct record_receipt receipt;
		struct record_case_update case_update;
		struct record_heartbeat heartbeat;
		struct record_checkpoint checkpoint;
		struct record_quota_report quota_report;
		struct record_unknown unknown;
	} u;
};

/* ---- codec --------------------------------------------------------------- */
/*
 * Encodes r (timestamps relative to base_time) into out[0..cap).  With out
 * NULL and cap 0 nothing is written and the size is returned.  The record
 * and its byte strings stay the caller's.  Returns the encoded length, or
 * ERR_FULL when cap is too small, ERR_TOOBIG when a field or the body is
 * over its *_MAX, ERR_INVAL for a bad enum value, an empty receipt or
 * complaint, unordered receipt ranges, a position out of range, a timestamp
 * more than 2^63-1 s from base_time, a QUOTA_REPORT breaking its rules
 * (period not a month, interval 0, zone out of range, refusal numbers
 * outside 1..refusals, figures on a crew 0 report), or an UNKNOWN record
 * whose type is a known one.
 */
ssize_t record_encode_base(const struct record *r, uint64_t base_time,
			   uint8_t *out, size_t cap) LL_MUST_CHECK;
/* record_encode_base() with base_time 0: absolute timestamps. */
ssize_t record_encode(const struct record *r, uint8_t *out, size_t cap) LL_MUST_CHECK;

/*
 * Decodes the record at the start of in[0..len) into *r; *consumed is set
 * to its length (header and body) so the caller may step to the next one.
 * Byte strings in *r point into in.  Returns 0 (r->type is RECORD_UNKNOWN
 * for a type this version does not know; skip it), ERR_TRUNC when in ends
 * before the record does, ERR_TOOBIG when the declared body or a field is
 * over its *_MAX, ERR_INVAL for a non-minimal varint, a bad enum value or a
 * field that runs past the body.  On error *consumed and *r are unspecified.
 */
int record_decode_base(const uint8_t *in, size_t len, uint64_t base_time,
		       size_t *consumed, struct record *r) LL_MUST_CHECK;
/* record_decode_base() with base_time 0. */
int record_decode(const uint8_t *in, size_t len, size_t *consumed,
		  struct record *r) LL_MUST_CHECK;

/* True when a and b carry the same type and field values (byte strings
 * compared by content).  For checking that a re-sent message id carries
 * the same message, and for tests. */
bool record_equal(const struct record *a, const struct record *b);

/*
 * Adds message id to a receipt being built, in ascending id order: extends
 * the last range when id follows it with the same state and reason, else
 * starts a new range.  Start from a zeroed struct record_receipt.  Returns
 * 0, ERR_INVAL when id is not above the last id or state is bad, ERR_FULL
 * when RECORD_RECEIPT_MAX ranges are used.
 */
int record_receipt_add(struct record_receipt *rc, uint64_t id,
		       enum record_msg_state state, uint32_t reason) LL_MUST_CHECK;

/* ---- records block iterator ---------------------------------------------- */
struct record_iter {
	const uint8_t *ptr;     /* the block, caller-owned */
	size_t len;
	size_t off;             /* start of the next record */
	uint64_t base_time;
	int err;                /* sticky: first error met, or 0 */
	uint32_t known;         /* records of known types returned */
	uint32_t unknown;       /* records of unknown types returned */
};

/* Starts iterating over block[0..len) with the given timestamp base. */
void record_iter_init(struct record_iter *it, const uint8_t *block, size_t len,
		      uint64_t base_time);

/*
 * Decodes the next record.  Returns 1 with *r filled (RECORD_UNKNOWN
 * records included, counted in it->unknown), 0 at the clean end of the
 * block, or a negative error from record_decode_base(); errors are sticky,
 * it->off then marks the start of the bad record.
 */
int record_iter_next(struct record_iter *it, struct record *r) LL_MUST_CHECK;

#endif
