"""The Python Celery client of the interop tests: sends tasks and reads results as Python sees them.

  client.py send --task NAME [--args JSON] [--kwargs JSON] [--countdown S] [--expires S]
                 [--time-limit S] [--soft-time-limit S] [--priority P] [--ignore-result] [--task-id ID] [--queue Q] [--count N] [--via delay|apply_async|send_task] [--wait] [--timeout S]
      One JSON line per task sent: {"id", "task", "eta", "expires"} (as in the message, ISO 8601); with --wait then one result line per task
      (see `get`), read in the same process, so `get()` is already waiting when the result lands.
  client.py get [--timeout S] ID...      (or the ids one per line on stdin)
      One JSON line per id: {"id", "status": "SUCCESS", "result"} or {"id", "status": <state>,
      "exc_type", "exc_module", "exc_message", "exc_args"}: the exception `AsyncResult.get()` raised
      (celery.exceptions.TimeoutError when no result came in time).
  client.py state ID...                  {"id", "state"} without waiting.
  client.py repr [--timeout S] ID...      {"id", "status", "repr"}: repr() of the value get() returned, exact
                                         where JSON numbers are not (integers beyond 2**53 in a JS reader).
  client.py inspect ID...                what AsyncResult's accessors read from a stored result:
      {"id", "state", "ready", "successful", "failed", "date_done" (parsed, ISO), "traceback", "children"}
  client.py revoke [--terminate] ID...   AsyncResult(id).revoke(): Celery's broadcast to all workers.
  client.py ping [--timeout S]           app.control.ping(): {"replies": [{node: reply}, ...]}.
  client.py canvas --kind chain|group|chord --steps JSON [--link JSON] [--timeout S]
      steps: [[task, args], ...] as signatures; chain: (s1 | s2 | ...) where each step gets the
      previous result; group: all at once; chord: the group of all steps but the last, whose
      results the last one gets. --link [task, args, task_id] adds a link (callback) to the first
      step with a known id, --link-error likewise an errback. Prints {"kind", "ids", "id" (of the whole)} then, unless --no-wait, the
      `get` line of the whole.

Configured like app.py, from the environment.
"""
import argparse
import json
import sys

from celery.signals import before_task_publish

from app import app

# headers.eta and headers.expires of each message this process published, by task id: what the
# worker must honour.
published_times = {}


@before_task_publish.connect
def remember_times(headers=None, **_):
    published_times[headers['id']] = (headers.get('eta'), headers.get('expires'))


def emit(value):
    sys.stdout.write(json.dumps(value) + '\n')
    sys.stdout.flush()


def describe_exception(task_id, state, error):
    return {
        'id': task_id,
        'status': state,
        'exc_type': type(error).__name__,
        'exc_module': type(error).__module__,
        'exc_message': str(error),
        'exc_args': [a if isinstance(a, (str, int, float, bool, type(None))) else repr(a) for a in error.args],
    }


def get_result(result, timeout):
    try:
        value = result.get(timeout=timeout, propagate=True, disable_sync_subtasks=False)
        return {'id': result.id, 'status': result.state, 'result': value}
    except Exception as error:  # every failure is a finding the test asserts on
        return describe_exception(result.id, result.state, error)


def send(args):
    task_args = json.loads(args.args)
    task_kwargs = json.loads(args.kwargs)
    options = {}
    if args.countdown is not None:
        options['countdown'] = args.countdown
    if args.expires is not None:
        options['expires'] = args.expires
    if args.queue is not None:
        options['queue'] = args.queue
    if args.priority is not None:
        options['priority'] = args.priority
    if args.ignore_result:
        options['ignore_result'] = True
    if args.task_id is not None:
        options['task_id'] = args.task_id
    if args.time_limit is not None:
        options['time_limit'] = args.time_limit
    if args.soft_time_limit is not None:
        options['soft_time_limit'] = args.soft_time_limit
    results = []
    for _ in range(args.count):
        if args.via == 'send_task':
            result = app.send_task(args.task, args=task_args, kwargs=task_kwargs, **options)
        else:
            task = app.tasks[args.task]
            if args.via == 'delay' and not options:
                result = task.delay(*task_args, **task_kwargs)
            else:
                result = task.apply_async(task_args, task_kwargs, **options)
        results.append(result)
        eta, expires = published_times.get(result.id, (None, None))
        emit({'id': result.id, 'task': args.task, 'eta': eta, 'expires': expires})
    if args.wait:
        for result in results:
            emit(get_result(result, args.timeout))


def get(args):
    ids = args.ids or [line.strip() for line in sys.stdin if line.strip()]
    for task_id in ids:
        emit(get_result(app.AsyncResult(task_id), args.timeout))


def result_repr(args):
    for task_id in args.ids:
        result = app.AsyncResult(task_id)
        try:
            emit({'id': task_id, 'status': 'SUCCESS', 'repr': repr(result.get(timeout=args.timeout))})
        except Exception as error:
            emit(describe_exception(task_id, result.state, error))


def state(args):
    for task_id in args.ids:
        emit({'id': task_id, 'state': app.AsyncResult(task_id).state})


def inspect(args):
    for task_id in args.ids:
        result = app.AsyncResult(task_id)
        date_done = result.date_done
        emit({
            'id': task_id,
            'state': result.state,
            'ready': result.ready(),
            'successful': result.successful(),
            'failed': result.failed(),
            'date_done': date_done.isoformat() if hasattr(date_done, 'isoformat') else date_done,
            'traceback': result.traceback,
            'children': [child.id for child in (result.children or [])],
        })


def revoke(args):
    for task_id in args.ids:
        app.AsyncResult(task_id).revoke(terminate=args.terminate)
        emit({'id': task_id, 'revoked': True})


def ping(args):
    emit({'replies': app.control.ping(timeout=args.timeout)})


def canvas(args):
    from celery import chain, chord, group
    steps = [app.signature(name, args=step_args) for name, step_args in json.loads(args.steps)]
    if args.link:
        name, link_args, link_id = json.loads(args.link)
        steps[0] = steps[0].set(link=app.signature(name, args=link_args).set(task_id=link_id))
    if args.link_error:
        name, link_args, link_id = json.loads(args.link_error)
        steps[0] = steps[0].set(link_error=app.signature(name, args=link_args).set(task_id=link_id))
    if args.kind == 'chain':
        whole = chain(*steps)
    elif args.kind == 'group':
        whole = group(*steps)
    else:
        whole = chord(steps[:-1], steps[-1])
    result = whole.apply_async()
    ids = [r.id for r in result.results] if args.kind == 'group' else [result.id]
    emit({'kind': args.kind, 'ids': ids, 'id': result.id})
    if args.no_wait:
        return
    try:
        emit({'id': result.id, 'status': 'SUCCESS', 'result': result.get(timeout=args.timeout)})
    except Exception as error:
        emit(describe_exception(result.id, getattr(result, 'state', None), error))


def main():
    parser = argparse.ArgumentParser(prog='client.py')
    commands = parser.add_subparsers(dest='command', required=True)

    p = commands.add_parser('send')
    p.add_argument('--task', required=True)
    p.add_argument('--args', default='[]')
    p.add_argument('--kwargs', default='{}')
    p.add_argument('--countdown', type=float)
    p.add_argument('--expires', type=float)
    p.add_argument('--time-limit', type=float)
    p.add_argument('--soft-time-limit', type=float)
    p.add_argument('--queue')
    p.add_argument('--priority', type=int)
    p.add_argument('--ignore-result', action='store_true')
    p.add_argument('--task-id', help='the id of the (single) task sent')
    p.add_argument('--count', type=int, default=1)
    p.add_argument('--via', choices=['delay', 'apply_async', 'send_task'], default='delay')
    p.add_argument('--wait', action='store_true')
    p.add_argument('--timeout', type=float, default=20)
    p.set_defaults(run=send)

    p = commands.add_parser('get')
    p.add_argument('--timeout', type=float, default=20)
    p.add_argument('ids', nargs='*')
    p.set_defaults(run=get)

    p = commands.add_parser('repr')
    p.add_argument('--timeout', type=float, default=20)
    p.add_argument('ids', nargs='+')
    p.set_defaults(run=result_repr)

    p = commands.add_parser('state')
    p.add_argument('ids', nargs='+')
    p.set_defaults(run=state)

    p = commands.add_parser('inspect')
    p.add_argument('ids', nargs='+')
    p.set_defaults(run=inspect)

    p = commands.add_parser('revoke')
    p.add_argument('--terminate', action='store_true')
    p.add_argument('ids', nargs='+')
    p.set_defaults(run=revoke)

    p = commands.add_parser('ping')
    p.add_argument('--timeout', type=float, default=1)
    p.set_defaults(run=ping)

    p = commands.add_parser('canvas')
    p.add_argument('--kind', choices=['chain', 'group', 'chord'], required=True)
    p.add_argument('--steps', required=True)
    p.add_argument('--link')
    p.add_argument('--link-error')
    p.add_argument('--timeout', type=float, default=20)
    p.add_argument('--no-wait', action='store_true', help='send only; the whole is read later with `get <id>`')
    p.set_defaults(run=canvas)

    args = parser.parse_args()
    args.run(args)


if __name__ == '__main__':
    main()
