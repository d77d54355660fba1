"""Sends N `tasks.noop` task messages (protocol 2) with Celery itself and prints their ids as a
JSON list on stdout. Usage: BENCH_REDIS_URL=redis://... python3 produce.py N [queue]
"""
import json
import sys

from tasks import app


def main():
    count = int(sys.argv[1])
    queue = sys.argv[2] if len(sys.argv) > 2 else 'celery'
    ids = []
    with app.producer_or_acquire() as producer:
        for _ in range(count):
            ids.append(app.send_task('tasks.noop', queue=queue, producer=producer).id)
    json.dump(ids, sys.stdout)


if __name__ == '__main__':
    main()
