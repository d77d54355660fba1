/** CLUSTER NODES / CLUSTER INFO as Redis 7.0 writes them (lines taken from the test clusters), and the slot arithmetic. */
import { parseClusterInfo, parseClusterNodes, parseReplicationLink } from '../../../runtime/cluster/topology';
import { evenShare, formatRange, rangesOf, SLOT_COUNT, slotsOf } from '../../../runtime/cluster/slots';

const A = '59f63d0c6e873a5a22f753f62519eaedeec3aa6e';
const B = 'd2135aa6b085662be4e49508451e0308f8a01277';

describe('parseClusterNodes', () => {
  test('a fresh node (no IP known yet), a failed master, a replica, and open slots of the observer', () => {
    const view = parseClusterNodes(
      [
        `${B} :35241@38223 myself,master - 0 0 1 connected 0-5459 5460 [5461->-${A}] [7000-<-${A}]`,
        `${A} 127.0.0.1:41551@41711,redis-1.redis master,fail? - 1796154909195 1796154908163 7 disconnected`,
        `f335e2a25cd40039173e69fff701566183e96386 127.0.0.1:43703@39971 slave ${B} 0 1796154906068 2 connected`,
        '',
      ].join('\n'),
    );
    expect(view).toEqual([
      {
        id: B,
        address: ':35241',
        host: '',
        port: 35241,
        busPort: 38223,
        flags: ['myself', 'master'],
        myself: true,
        role: 'master',
        configEpoch: 1,
        linkState: 'connected',
        slots: [
          { start: 0, end: 5459 },
          { start: 5460, end: 5460 },
        ],
        openSlots: [
          { slot: 5461, state: 'migrating', peer: A },
          { slot: 7000, state: 'importing', peer: A },
        ],
      },
      {
        id: A,
        address: '127.0.0.1:41551',
        host: '127.0.0.1',
        port: 41551,
        busPort: 41711,
        hostname: 'redis-1.redis',
        flags: ['master', 'fail?'],
        myself: false,
        role: 'master',
        configEpoch: 7,
        linkState: 'disconnected',
        slots: [],
        openSlots: [],
      },
      expect.objectContaining({ role: 'replica', masterId: B, address: '127.0.0.1:43703', slots: [] }),
    ]);
  });

  test('a line that is not CLUSTER NODES is an error quoting it', () => {
    expect(() => parseClusterNodes(`${A} 127.0.0.1:1@2 master - 0 0 1 connected 0-x`)).toThrow(
      `unexpected CLUSTER NODES line (slot '0-x'): '${A} 127.0.0.1:1@2 master - 0 0 1 connected 0-x'`,
    );
    expect(() => parseClusterNodes('ERR something')).toThrow(/^unexpected CLUSTER NODES line \(expected <id>/);
  });
});

test('parseClusterInfo reads the state, slots, nodes, size and epoch; an unknown state is an error', () => {
  const info =
    'cluster_enabled:1\r\ncluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_known_nodes:6\r\ncluster_size:3\r\ncluster_current_epoch:7\r\n';
  expect(parseClusterInfo(info)).toEqual({ state: 'ok', slotsAssigned: 16384, knownNodes: 6, size: 3, currentEpoch: 7 });
  expect(() => parseClusterInfo(info.replace('ok\r', 'meh\r'))).toThrow("unexpected CLUSTER INFO: cluster_state 'meh'");
});

test('parseReplicationLink: none on a master; on a replica whether the link is up and a full sync runs', () => {
  expect(parseReplicationLink('# Replication\r\nrole:master\r\nconnected_slaves:1\r\n')).toBeUndefined();
  expect(parseReplicationLink('# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_link_status:up\r\nmaster_sync_in_progress:0\r\n')).toEqual({
    up: true,
    syncing: false,
  });
  expect(parseReplicationLink('# Replication\r\nrole:slave\r\nmaster_link_status:down\r\nmaster_sync_in_progress:1\r\n')).toEqual({ up: false, syncing: true });
});

describe('slots', () => {
  test.each([1, 2, 3, 5, 7, 10])('the even shares of %i masters cover every slot once, sizes differing by at most one', (masters) => {
    const shares = Array.from({ length: masters }, (_, i) => evenShare(i, masters));
    expect(rangesOf(slotsOf(shares))).toEqual([{ start: 0, end: SLOT_COUNT - 1 }]);
    const sizes = shares.map((s) => s.end - s.start + 1);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  test('rangesOf merges neighbours, ignores order and duplicates', () => {
    expect(rangesOf([9, 1, 2, 3, 3, 7]).map(formatRange)).toEqual(['1-3', '7', '9']);
  });
});
