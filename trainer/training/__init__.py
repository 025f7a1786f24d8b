"""Training one run: the loop as events, the batches it reads, the run's random streams, the
checks before a run starts (plug-ins, memory, warm-up), the recorder that turns events into a
run directory's files, and the progress shown while it trains."""
