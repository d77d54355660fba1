/** Which node becomes what in `cluster create`, from what fresh nodes say (their CLUSTER NODES as Redis 7.0 writes it). */
import { NodeState } from '../../../runtime/cluster/node-state';
import { planCreate } from '../../../runtime/cluster/create-plan';
import { parseClusterNodes } from '../../../runtime/cluster/topology';

/** A node that knows only itself, as a fresh redis-server in cluster mode reports it. */
function fresh(host: string, port: number, keys = 0): NodeState {
  const id = port.toString(16).padStart(40, '0');
  const view = parseClusterNodes(`${id} :${port}@${port + 1} myself,master - 0 0 0 connected`);
  return { node: { host, port, address: `${host}:${port}` }, id, view, myself: view[0], info: { state: 'fail', slotsAssigned: 0, knownNodes: 1, size: 0, currentEpoch: 0 }, keys };
}

const layout = (nodes: NodeState[], replicas = 1) => {
  const plan = planCreate(nodes, replicas);
  return {
    masters: plan.masters.map((m) => `${m.node.node.address} ${m.add.map((r) => `${r.start}-${r.end}`).join(',')}`),
    replicas: plan.replicas.map((r) => `${r.node.node.address} -> ${r.master.node.address}`),
    sameHost: plan.replicas.filter((r) => r.node.node.host === r.master.node.host).length,
  };
};

test('three hosts, two nodes each: the masters on three hosts, every replica on another host than its master', () => {
  const nodes = [1, 2, 3, 1, 2, 3].map((h, i) => fresh(`10.0.0.${h}`, 7000 + i));
  expect(layout(nodes)).toEqual({
    masters: ['10.0.0.1:7000 0-5460', '10.0.0.2:7001 5461-10921', '10.0.0.3:7002 10922-16383'],
    replicas: ['10.0.0.1:7003 -> 10.0.0.2:7001', '10.0.0.3:7005 -> 10.0.0.1:7000', '10.0.0.2:7004 -> 10.0.0.3:7002'],
    sameHost: 0,
  });
});

test('nodes listed host by host are spread: masters round-robin over the hosts', () => {
  const nodes = ['a', 'a', 'a', 'b', 'b', 'b'].map((h, i) => fresh(h, 7000 + i));
  expect(layout(nodes)).toMatchObject({ masters: ['a:7000 0-5460', 'b:7003 5461-10921', 'a:7001 10922-16383'], sameHost: 0 });
});

test('when the hosts cannot keep every pair apart, as few as possible share one', () => {
  const nodes = ['a', 'a', 'a', 'a', 'b', 'b'].map((h, i) => fresh(h, 7000 + i));
  expect(layout(nodes).sameHost).toBe(1);
});

test('two replicas per master on three hosts: none on its master host', () => {
  const nodes = [1, 2, 3, 1, 2, 3, 1, 2, 3].map((h, i) => fresh(`h${h}`, 7000 + i));
  expect(layout(nodes, 2).sameHost).toBe(0);
});

test('a node holding keys is refused before anything is planned', () => {
  const nodes = [0, 1, 2].map((i) => fresh('h', 7000 + i, i === 1 ? 3 : 0));
  expect(() => planCreate(nodes, 0)).toThrow("h:7001 holds 3 keys: create takes only empty nodes (or this cluster's own on a rerun); nothing was changed");
});
