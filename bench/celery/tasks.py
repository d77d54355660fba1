"""The Python Celery reference of `npm run bench:celery`: one app, one no-op task.

Broker and result backend are the benchmark's redis-server (BENCH_REDIS_URL). Everything else is
Celery's default (JSON, prefetch multiplier 4, early acks, results kept for a day), so the worker
is measured as people run it. Used by the worker (`celery -A tasks worker`) and by produce.py.
"""
import os
import pathlib

from celery import Celery
from celery.signals import worker_ready

app = Celery('tasks', broker=os.environ['BENCH_REDIS_URL'], backend=os.environ['BENCH_REDIS_URL'])


@app.task(name='tasks.noop')
def noop():
    return None


@worker_ready.connect
def _ready(**_):
    # The harness waits for this file rather than for a log line: the worker logs at WARNING.
    ready_file = os.environ.get('BENCH_CELERY_READY_FILE')
    if ready_file:
        pathlib.Path(ready_file).write_text(str(os.getpid()))
