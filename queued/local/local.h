/*
 * local: the local delivery agent's work: one message into the Maildirs
 * of its local recipients (tmp/ -> fsync -> new/ -> fsync of new/), with
 * Return-Path: and Delivered-To: on top, names that make a repeated
 * delivery find its file, and loop detection (RFC 5321 6.3). Used by
 * pombo-local; trusts the job from queued, not the message.
 */
#ifndef POMBO_LOCAL_H
#define POMBO_LOCAL_H

#include "job.h"
#include "str.h"

/* The facts about a message the agent needs before writing it. */
struct local_scan {
	uint64_t	size;		/* octets */
	uint64_t	lfs;		/* LF octets */
	uint32_t	crc;		/* CRC-32C, for the job's sum */
	int		ends_lf;
	unsigned	hops;		/* Received: header lines */
	char		**delivered_to;	/* Delivered-To: values, lowercased */
	size_t		ndelivered_to;
};

/* Scan the message of fd from off (header facts, sizes). */
int local_scan(int fd, uint64_t off, struct local_scan *s);
void local_scan_free(struct local_scan *s);

/*
 * Deliver every recipient of every message of the job; results go to
 * out, one line each, once the files they report are durable.
 */
void local_deliver(int spoolfd, const struct job *j, struct buf *out);

#endif
