/*
 * ledger.h — the shore's compliance ledger and monthly statements (issue 7).
 *
 * Ingest feeds it one accepted bundle at a time (inside ingest's accepting
 * transaction): the bundle's size and receive time, each crew member's
 * compressed section bytes, heartbeats, and the vessel's QUOTA_REPORTs
 * (bytes counted on board, refusals with the usage level at each, the
 * quota zone and heartbeat interval).  Raw facts are stored with their
 * times; months are cut only when a statement is made, in the quota zone
 * the vessel last reported (default +07:00 before any report).
 *
 * Shore schema (added as a migration, see ledger_schema_sql):
 *   ledger_bundle (vessel, seq, received, bytes)              one per accepted bundle
 *   ledger_air    (vessel, seq, crew_id, bytes)               crew 0: not attributed
 *   ledger_hb     (vessel, received, ts, on_board, registered)
 *   ledger_vessel (vessel PK, zone, interval, allowance, updated)
 *   ledger_quota  (vessel, crew_id, period, used, allowance, refusals, updated)
 *   ledger_refusal(vessel, crew_id, period, n, ts, used, attempted)
 * Message counts (texts, deliveries, failures, complaints, SOS) are read
 * from the messages table when a statement is made.
 *
 * Airtime: each accepted bundle's sealed bytes are split between the crew
 * members whose sections it carries: a member's own compressed section
 * bytes plus floor(overhead * own / all crew section bytes), overhead being
 * the rest of the bundle (header, tag, vessel section, section lengths);
 * what rounding and crew-less bundles leave is "not attributed".  So the
 * shares always add up to the bytes received.
 */
#ifndef LIFELINE_SHORE_LEDGER_H
#define LIFELINE_SHORE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/db.h"
#include "common/keyfile.h"
#include "proto/body.h"
#include "proto/record.h"
#include "proto/statement.h"

#define LEDGER_SCHEMA_VERSION 3
#define LEDGER_REPORTS_MAX 512u        /* QUOTA_REPORTs kept from one bundle */
#define LEDGER_ZONE_DEFAULT_S (7 * 3600)
#define LEDGER_PRICE_MAX 64u           /* price_per_mb text */

/* The SQL of the ledger's migration (shore/store.c lists it). */
extern const char ledger_schema_sql[];

/* What one bundle tells the ledger; filled while ingest decodes it. */
struct ledger_scan {
	size_t nsections;
	uint32_t section_bytes[BODY_SECTIONS_MAX];  /* on the wire, length varint included */
	uint32_t section_crew[BODY_SECTIONS_MAX];   /* 0: vessel section or unknown */
	bool has_hb;
	struct record_heartbeat hb;
	size_t nreports;
	struct record_quota_report reports[LEDGER_REPORTS_MAX];
	size_t wire_bytes;                          /* the sealed bundle */
};

/* Starts a scan of a bundle's plaintext body (section sizes read from its
 * framing; a malformed framing is left to the body reader to refuse). */
void ledger_scan_begin(struct ledger_scan *ls, const uint8_t *body, size_t len);
/* Notes one decoded record of section sec (TEXT, CONTACT, SOS name their
 * crew member; HEARTBEAT and QUOTA_REPORT are kept). */
void ledger_scan_record(struct ledger_scan *ls, size_t sec, const struct record *r);

/* Inside the caller's open transaction: stores what the scan of the
 * accepted bundle (vessel, seq) received at now holds.  Returns 0 or a db
 * error. */
int ledger_commit(struct db *db, uint32_t vessel, uint64_t seq, int64_t now,
		  const struct ledger_scan *ls) LL_MUST_CHECK;

/* A price: millionths of a currency unit per 1,000,000 bytes on air. */
struct ledger_price {
	uint64_t micro_per_mb;          /* 0: none */
	char currency[STATEMENT_CURRENCY_BYTES + 1];
};

/* Parses "4.50 USD" (amount with at most 6 decimals, then an ISO 4217
 * code; "" = no price).  Returns 0 or ERR_INVAL. */
int ledger_price_parse(const char *s, struct ledger_price *p) LL_MUST_CHECK;
/* config.h check callback for price_per_mb. */
int ledger_price_check(const char *value, char *why, size_t cap);

/* "YYYY-MM" -> 202611.  Returns 0 or ERR_INVAL. */
int ledger_month_parse(const char *s, uint32_t *period) LL_MUST_CHECK;
/* The first instant of period in zone and of the month after. */
int ledger_period_bounds(uint32_t period, int32_t zone, int64_t *start, int64_t *end) LL_MUST_CHECK;

/*
 * Computes the statement of vessel for period (YYYYMM in the vessel's
 * reported zone) from what the database holds at now, with price (may be
 * NULL).  Returns 0 with *s filled, ERR_NOTFOUND (no such vessel),
 * ERR_STATE (the month has not begun at now), ERR_TOOBIG (more than
 * STATEMENT_CREW_MAX crew members), or a db error.
 */
int ledger_statement(struct db *db, uint32_t vessel, uint32_t period, int64_t now,
		     const struct ledger_price *price, struct statement *s) LL_MUST_CHECK;

/* The shore's statement signer: a copy of its Ed25519 key in sodium_malloc
 * memory and the configured price. */
struct ledger_signer;
int ledger_signer_new(struct ledger_signer **out, const struct keyfile_secret *key,
		      const char *price) LL_MUST_CHECK;
void ledger_signer_free(struct ledger_signer *sg);     /* NULL is a no-op */
const struct ledger_price *ledger_signer_price(const struct ledger_signer *sg);
/* Signs s into an LLDOC kind-2 document.  Returns its length or an error. */
ssize_t ledger_signer_sign(const struct ledger_signer *sg, const struct statement *s, uint8_t *out,
			   size_t cap) LL_MUST_CHECK;

#endif
