/** What `cluster scale` plans from what the nodes say (CLUSTER NODES as Redis 7.0 writes it). */
import { NodeState } from '../../../runtime/cluster/node-state';
import { planScale } from '../../../runtime/cluster/scale-plan';
import { parseClusterNodes } from '../../../runtime/cluster/topology';

const idOf = (port: number) => port.toString(16).padStart(40, '0');

/** A member of a cluster whose lines are `members` (port -> its line's flags, master and slots); `port` is myself. */
function member(host: (port: number) => string, port: number, members: Record<number, { role: 'master' | 'slave'; master?: number; slots?: string }>): NodeState {
  const lines = Object.entries(members).map(([p, m]) => {
    const flags = `${Number(p) === port ? 'myself,' : ''}${m.role}`;
    return `${idOf(Number(p))} ${host(Number(p))}:${p}@${Number(p) + 1} ${flags} ${m.master ? idOf(m.master) : '-'} 0 0 1 connected ${m.slots ?? ''}`.trim();
  });
  const view = parseClusterNodes(lines.join('\n'));
  const myself = view.find((e) => e.myself) as NodeState['myself'];
  return {
    node: { host: host(port), port, address: `${host(port)}:${port}` },
    id: idOf(port),
    view,
    myself,
    info: { state: 'ok', slotsAssigned: 16384, knownNodes: view.length, size: 3, currentEpoch: 1 },
    keys: 0,
  };
}

function fresh(host: string, port: number): NodeState {
  const view = parseClusterNodes(`${idOf(port)} :${port}@${port + 1} myself,master - 0 0 0 connected`);
  return {
    node: { host, port, address: `${host}:${port}` },
    id: idOf(port),
    view,
    myself: view[0],
    info: { state: 'fail', slotsAssigned: 0, knownNodes: 1, size: 0, currentEpoch: 0 },
    keys: 0,
  };
}

const THREE = {
  7000: { role: 'master', slots: '0-5460' },
  7001: { role: 'master', slots: '5461-10921' },
  7002: { role: 'master', slots: '10922-16383' },
  7003: { role: 'slave', master: 7000 },
  7004: { role: 'slave', master: 7001 },
  7005: { role: 'slave', master: 7002 },
} as const;

const summary = (plan: ReturnType<typeof planScale>) => ({
  joining: plan.joining.map((s) => s.node.port),
  leaving: plan.leaving.map((e) => e.port),
  masters: plan.masters.map((s) => s.node.port),
  replicate: plan.replicate.map((r) => `${r.node.node.port} -> ${r.master.node.port}`),
});

test('3+3 to 5+5: four nodes join, two as masters, two as their replicas on other hosts; nothing leaves', () => {
  const host = (p: number) => `10.0.0.${p % 2}`;
  const states = [...[7000, 7001, 7002, 7003, 7004, 7005].map((p) => member(host, p, THREE)), ...[7006, 7007, 7008, 7009].map((p) => fresh(host(p), p))];
  expect(summary(planScale(states, [], 1))).toEqual({
    joining: [7006, 7007, 7008, 7009],
    leaving: [],
    masters: [7000, 7001, 7002, 7006, 7007],
    // 7006 is on 10.0.0.0, 7007 on 10.0.0.1: each replica goes to the master on the other host.
    replicate: ['7008 -> 7007', '7009 -> 7006'],
  });
});

test('dropping a master and its replica: both leave, the rest stays as it is', () => {
  const host = () => '127.0.0.1';
  const members = { ...THREE, 7006: { role: 'master', slots: '' }, 7007: { role: 'slave', master: 7006 } } as const;
  const states = [7000, 7001, 7002, 7003, 7004, 7005].map((p) => member(host, p, members));
  expect(summary(planScale(states, [], 1))).toEqual({ joining: [], leaving: [7006, 7007], masters: [7000, 7001, 7002], replicate: [] });
});

test('a listed replica of a leaving master is re-attached to a master short of one', () => {
  const host = () => '127.0.0.1';
  const members = { ...THREE, 7003: { role: 'slave', master: 7006 }, 7006: { role: 'master', slots: '' }, 7007: { role: 'slave', master: 7000 } } as const;
  const states = [7000, 7001, 7002, 7003, 7004, 7005].map((p) => member(host, p, members));
  expect(summary(planScale(states, [], 1))).toEqual({ joining: [], leaving: [7006, 7007], masters: [7000, 7001, 7002], replicate: ['7003 -> 7000'] });
});

test('refusals before any change: no member at all, a node of another cluster, more serving masters than the layout has', () => {
  expect(() =>
    planScale(
      [7000, 7001, 7002].map((p) => fresh('h', p)),
      [],
      0,
    ),
  ).toThrow('no node of --nodes or --seed is a member of a cluster');
  const host = () => 'h';
  const stranger = member(host, 8000, { 8000: { role: 'master', slots: '0-16383' }, 8001: { role: 'master' } });
  const ours = [7000, 7001, 7002].map((p) => member(host, p, THREE));
  expect(() => planScale([...ours, stranger], [], 0)).toThrow(`h:8000 belongs to another cluster`);
  expect(() =>
    planScale(
      [7000, 7001, 7002, 7003].map((p) => member(host, p, THREE)),
      [],
      1,
    ),
  ).toThrow('3 listed nodes serve slots (h:7000, h:7001, h:7002), more than the 2 masters 4 nodes make with 1 replicas each');
});
