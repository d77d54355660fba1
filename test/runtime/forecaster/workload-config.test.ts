import { writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { loadConfigFile, resolveConfig, resolveWorkload } from '../../../runtime/forecaster/workload-config';

const API = { name: 'api', query: 'sum(rate(http_requests_total[1m]))', targetPerPod: 50, minReplicas: 1, maxReplicas: 20, leadTimeSeconds: 300 };

describe('forecaster workloads', () => {
  test('defaults: interval 30 s, step 60 s, window 4 days, horizon the lead time + stale after (whole steps), stale after 120 s; the planner plans the horizon', () => {
    expect(resolveWorkload({ ...API, headroom: 1.2 }, 'workloads[0]')).toEqual({
      ...API,
      intervalSeconds: 30,
      stepSeconds: 60,
      windowSeconds: 345600,
      horizonSeconds: 420,
      staleAfterSeconds: 120,
      planner: { targetPerPod: 50, minReplicas: 1, maxReplicas: 20, leadTimeSeconds: 420, stepSeconds: 60, podStartSeconds: 300, headroom: 1.2 },
    });
  });

  test.each([
    [{ ...API, name: 'API' }, `workload 'API' (f: workloads[0]): 'name' ('API') must be a DNS label: lower-case letters, digits and -, at most 63`],
    [{ ...API, targetPerPod: 0 }, `workload 'api' (f: workloads[0]): 'targetPerPod' (0) must be a positive number`],
    [{ ...API, maxReplicas: 0, minReplicas: 0 }, `workload 'api' (f: workloads[0]): 'maxReplicas' (0) must be an integer of at least 1 and of 'minReplicas' (0)`],
    [{ ...API, query: undefined }, `workload 'api' (f: workloads[0]): 'query' is missing; it must be a PromQL expression`],
    [
      { ...API, leadTime: 300 },
      `workload 'api' (f: workloads[0]): 'leadTime' (300) is not a field of a workload; the fields are name, query, targetPerPod, minReplicas, maxReplicas, leadTimeSeconds, intervalSeconds, stepSeconds, windowSeconds, horizonSeconds, staleAfterSeconds, headroom, quantile, model`,
    ],
    [
      { ...API, horizonSeconds: 330 },
      `workload 'api' (f: workloads[0]): 'horizonSeconds' (330) must be a whole number of steps (60 s) of at least 'leadTimeSeconds' (300): the scaler looks that far ahead`,
    ],
    [
      { ...API, staleAfterSeconds: 60 },
      `workload 'api' (f: workloads[0]): 'staleAfterSeconds' (60) must be more than 'stepSeconds' (60) and 'intervalSeconds' (30): a forecast would go stale before the next one is written`,
    ],
    [
      { ...API, stepSeconds: 15, windowSeconds: 259200 },
      `workload 'api' (f: workloads[0]): 'windowSeconds' (259200) must be at least 'stepSeconds' (15) and under 11000 steps (165000 s): Prometheus refuses a range query of more points`,
    ],
    [{ ...API, quantile: 1.5 }, `workload 'api' (f: workloads[0]): 'quantile' (1.5) must be at least 0.5 and below 1`],
    [{ ...API, model: { seasons: -1 } }, `workload 'api' (f: workloads[0]): 'model.seasons' (-1) must be an integer of at least 0`],
    [{ ...API, model: { headroom: 2 } }, `workload 'api' (f: workloads[0]): 'model.headroom' (2) is a field of the workload itself: set 'headroom' there`],
  ])('%j is refused', (workload, message) => {
    expect(() => resolveConfig({ workloads: [workload] }, 'f')).toThrow(message);
  });

  test('names are unique; the config needs workloads', () => {
    expect(() => resolveConfig({ workloads: [API, API] }, 'f')).toThrow(`f: workloads[1]: 'name' ('api') is given to another workload already`);
    expect(() => resolveConfig({ workloads: [] }, 'f')).toThrow(`f: 'workloads' ([]) must be a non-empty list`);
    expect(() => resolveConfig({ prometheus: 'http://p:9090', workload: [API] }, 'f')).toThrow(
      `f: 'workload' is not a field of the forecaster's config; the fields are prometheus, workloads`,
    );
  });

  test('a YAML file and a JSON file read the same', () => {
    const yaml = join(tmpdir(), `workloads-${process.pid}.yaml`);
    const json = join(tmpdir(), `workloads-${process.pid}.json`);
    writeFileSync(
      yaml,
      `prometheus: http://prometheus:9090\nworkloads:\n  - name: api\n    query: sum(rate(http_requests_total[1m]))\n    targetPerPod: 50\n    minReplicas: 1\n    maxReplicas: 20\n    leadTimeSeconds: 300\n`,
    );
    writeFileSync(json, JSON.stringify({ prometheus: 'http://prometheus:9090', workloads: [API] }));
    expect(loadConfigFile(yaml)).toEqual(loadConfigFile(json));
    expect(loadConfigFile(json).prometheus).toBe('http://prometheus:9090');
    writeFileSync(json, '{ "workloads": [');
    expect(() => loadConfigFile(json)).toThrow(`the forecaster's config ${json} is neither JSON nor YAML`);
  });
});
