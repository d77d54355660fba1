"""The Celery app of the interop tests: a real Python Celery 5.2 worker and client.

Configured only from the environment (see ../python-celery.ts):
  CELERY_TEST_REDIS_URL       broker and result backend (redis://127.0.0.1:<port>)
  CELERY_VISIBILITY_TIMEOUT   kombu's visibility_timeout in seconds (default 3600)
  CELERY_RESULT_EXPIRES       result_expires in seconds (default 86400)
  CELERY_TEST_ACKS_LATE       "true": acknowledge after the task ran (default false, Celery's)
  CELERY_TEST_WORKER_TAG      who ran a task, in the `executed` record (default "python")
  CELERY_TEST_TASK_PROTOCOL   the message protocol the client sends, 1 or 2 (default 2, Celery's)
  CELERY_TEST_TASK_SERIALIZER the client's task_serializer (default json; pickle: what no JSON worker takes)
  CELERY_TEST_USERS_COUNTER   users.register's counter key, CELERY_TEST_USER_PREFIX its hash prefix
                              (runtime/contract/celery.ts CeleryDemoKeys, so Python and ours never collide)

It defines the same task names as `redis-keda celery-worker`, so our producer's tasks run here and
a mixed fleet shares one task set. Every task run appends a JSON record
`{"id", "task", "worker", "at", "eta"}` to the Redis list `executed`, so a test counts executions
instead of assuming them.
"""
import json
import os
import time
from datetime import datetime

import redis
from celery import Celery

REDIS_URL = os.environ['CELERY_TEST_REDIS_URL']
VISIBILITY_TIMEOUT = float(os.environ.get('CELERY_VISIBILITY_TIMEOUT', '3600'))
WORKER_TAG = os.environ.get('CELERY_TEST_WORKER_TAG', 'python')
EXECUTED_KEY = 'executed'
# tasks.sleep also records its end here: a run killed mid-sleep is in `executed` only.
COMPLETED_KEY = 'completed'

app = Celery('interop', broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    broker_transport_options={'visibility_timeout': VISIBILITY_TIMEOUT},
    result_expires=int(os.environ.get('CELERY_RESULT_EXPIRES', '86400')),
    task_acks_late=os.environ.get('CELERY_TEST_ACKS_LATE', 'false') == 'true',
    # One message per process in hand: in a shared queue the others get their fair share, and with
    # acks_late fewer messages sit in `unacked` where a visibility timeout could restore them.
    worker_prefetch_multiplier=1,
    task_serializer=os.environ.get('CELERY_TEST_TASK_SERIALIZER', 'json'),
    result_serializer='json',
    accept_content=['json'],
    enable_utc=True,
    task_protocol=int(os.environ.get('CELERY_TEST_TASK_PROTOCOL', '2')),
    # Through a Redis restart a result write fails once: retried, as a deployment riding out a rollout sets it
    # (without it Celery 5.7 marked a finished task FAILURE with the ConnectionError of its SUCCESS write).
    result_backend_always_retry=True,
    result_backend_max_retries=50,
)

_client = None
_client_pid = None


def store():
    """A Redis client of this process (prefork children must not share their parent's socket)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = redis.Redis.from_url(REDIS_URL)
        _client_pid = os.getpid()
    return _client


def record(task, key=EXECUTED_KEY):
    eta = task.request.eta
    entry = json.dumps({
        'id': task.request.id,
        'task': task.name,
        'worker': WORKER_TAG,
        'at': time.time(),
        'eta': eta.isoformat() if hasattr(eta, 'isoformat') else eta,
    })
    # Through a Redis restart too: the record is the test's evidence, not the task's outcome.
    for attempt in range(100):
        try:
            store().rpush(key, entry)
            return
        except redis.exceptions.ConnectionError:
            if attempt == 99:
                raise
            time.sleep(0.1)


@app.task(name='tasks.add', bind=True)
def add(self, a, b):
    record(self)
    return a + b


@app.task(name='tasks.noop', bind=True)
def noop(self):
    record(self)
    return None


@app.task(name='tasks.sleep', bind=True)
def sleep(self, seconds):
    record(self)
    time.sleep(seconds)
    record(self, COMPLETED_KEY)
    return seconds


@app.task(name='tasks.fail', bind=True)
def fail(self, message):
    record(self)
    raise ValueError(message)


@app.task(name='tasks.echo', bind=True)
def echo(self, *args, **kwargs):
    record(self)
    return {'args': list(args), 'kwargs': kwargs}


@app.task(name='users.register', bind=True)
def register(self, name, email, address):
    """The demo's task: a `users:<n>` hash with the registration, who stored it and when."""
    record(self)
    client = store()
    number = client.incr(os.environ['CELERY_TEST_USERS_COUNTER'])
    key = '%s%d' % (os.environ['CELERY_TEST_USER_PREFIX'], number)
    client.hset(key, mapping={
        'name': name,
        'email': email,
        'address': address,
        'worker': self.request.hostname or WORKER_TAG,
        'processed': datetime.utcnow().isoformat(timespec='milliseconds') + 'Z',
        'task_id': self.request.id,
    })
    return key


@app.task(name='interop.python_only', bind=True)
def python_only(self, value):
    """A task our worker does not know: with --unknown-task requeue it must reach a Python worker."""
    record(self)
    return {'ranOn': WORKER_TAG, 'value': value}


@app.task(name='interop.on_error', bind=True)
def on_error(self, failed_task_id):
    """An old-style errback (one parameter: Celery calls it with the failed task's id)."""
    record(self)
    store().rpush('errbacks', json.dumps({'errback': self.request.id, 'failed': failed_task_id, 'worker': WORKER_TAG}))
    return failed_task_id
