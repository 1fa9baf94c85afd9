# pombo-queue: the admin's view of the queue (queued's admin commands).
sbin_PROGRAMS += queued/pombo-queue
queued_pombo_queue_SOURCES = queued/queue/main.c
queued_pombo_queue_LDADD = shared/libpombo.a
