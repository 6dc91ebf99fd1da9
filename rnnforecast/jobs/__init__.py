"""The jobs the commands run: ingest (fetch), evaluate, predict, the nightly run, listing and
managing runs, and the executors that run one job per ticker.
"""
