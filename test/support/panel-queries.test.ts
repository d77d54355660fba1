import { waitFor } from './cli';
import { PrometheusServer, startPrometheus } from './prometheus-server';
import {
  coverage,
  DEFAULT_BUILTINS,
  evaluateQueries,
  extractQueries,
  ShippedQuery,
  substituteVariables,
  UnknownVariableError,
  variableQueryAsPromql,
  vectorSelectors,
} from './panel-queries';

describe('substituteVariables', () => {
  test('every spelling of a variable, the built-ins, a regex format; $1 of label_replace left alone', () => {
    const values = { namespace: 'ns-1', list: 'a.b', ...DEFAULT_BUILTINS };
    expect(substituteVariables('m{namespace="$namespace", x="${namespace}", y="[[namespace]]"}[$__rate_interval]', values)).toBe('m{namespace="ns-1", x="ns-1", y="ns-1"}[15s]');
    expect(substituteVariables('m{list=~"${list:regex}", raw="${list:raw}"} offset $__interval', values)).toBe('m{list=~"a\\.b", raw="a.b"} offset 2s');
    expect(substituteVariables('label_replace(m, "dst", "$1", "src", "(.*)")', values)).toBe('label_replace(m, "dst", "$1", "src", "(.*)")');
  });

  test('a variable without a value is an error naming it and the query', () => {
    expect(() => substituteVariables('m{pod=~"$pod", a="$namespace"}', { namespace: 'x' })).toThrow(
      new UnknownVariableError('no value for $pod in m{pod=~"$pod", a="$namespace"}'),
    );
  });
});

test('variableQueryAsPromql: what Grafana runs for label_values, query_result and metrics', () => {
  expect(variableQueryAsPromql('label_values(up{job="a,b"}, namespace)')).toBe('group by (namespace) (up{job="a,b"})');
  expect(variableQueryAsPromql('label_values(pod)')).toBe('group by (pod) ({pod!=""})');
  expect(variableQueryAsPromql(' query_result(topk(3, up)) ')).toBe('topk(3, up)');
  expect(variableQueryAsPromql('metrics(redis_keda_.*)')).toBe('group by (__name__) ({__name__=~"redis_keda_.*"})');
  expect(variableQueryAsPromql('up{a="b"}')).toBe('up{a="b"}');
});

test('vectorSelectors: metric names with their matchers, not functions, keywords, label lists, strings or durations', () => {
  const expr =
    'histogram_quantile(0.99, sum by (le, pod) (rate(lat_bucket{pod=~"w-[a-z0-9]+-[a-z0-9]+", x="}"}[5m] offset 1m))) ' +
    '/ on (pod) group_left(node) sum without (instance) (kube_info) > bool 0 unless on() absent(up{job="j"}) or vector(1) and {__name__="named"} ' +
    '+ label_replace(other, "dst", "$1", "src", "(.*)") + count(rate(lat_bucket{pod=~"w-[a-z0-9]+-[a-z0-9]+", x="}"}[1m]))';
  expect(vectorSelectors(expr)).toEqual([
    { metric: 'lat_bucket', text: 'lat_bucket{pod=~"w-[a-z0-9]+-[a-z0-9]+", x="}"}' },
    { metric: 'kube_info', text: 'kube_info' },
    { metric: 'up', text: 'up{job="j"}' },
    { metric: 'named', text: '{__name__="named"}' },
    { metric: 'other', text: 'other' },
  ]);
});

test('extractQueries: panels (nested in rows), query variables, annotations of dashboard ConfigMaps; rules of PrometheusRules; nothing else', () => {
  const dashboard = {
    title: 'D',
    templating: {
      list: [
        { type: 'datasource', name: 'ds', query: 'prometheus' },
        { type: 'query', name: 'ns', query: { query: 'label_values(up, namespace)', refId: 'x' } },
        { type: 'query', name: 'old', query: 'label_values(up, pod)' },
        { type: 'constant', name: 'list', query: 'events' },
        { type: 'custom', name: 'pick', query: 'a,b', current: { value: 'b' } },
      ],
    },
    annotations: { list: [{ name: 'deploys', expr: 'changes(up[5m]) > 0' }, { name: 'builtin' }] },
    panels: [
      { title: 'Row', type: 'row', panels: [{ title: 'In row', targets: [{ refId: 'A', expr: 'up' }] }] },
      { title: 'Text', type: 'text' },
      {
        title: 'Top',
        targets: [
          { refId: 'B', expr: 'sum(up)' },
          { refId: 'C', expr: ' ' },
        ],
      },
    ],
  };
  const queries = extractQueries([
    { kind: 'ConfigMap', metadata: { name: 'dash', namespace: 'n', labels: { grafana_dashboard: '1' } }, data: { 'd.json': JSON.stringify(dashboard) } },
    { kind: 'ConfigMap', metadata: { name: 'other', namespace: 'n' }, data: { 'd.json': JSON.stringify(dashboard) } },
    {
      kind: 'PrometheusRule',
      metadata: { name: 'rules', namespace: 'n' },
      spec: {
        groups: [
          {
            name: 'g',
            rules: [
              { alert: 'A', expr: 'up == 0' },
              { record: 'r:up', expr: 'sum(up)' },
            ],
          },
        ],
      },
    },
    { kind: 'Deployment', metadata: { name: 'x' }, spec: {} },
  ]);
  const own = { list: 'events', pick: 'b' };
  expect(queries).toEqual<ShippedQuery[]>([
    { kind: 'panel', source: 'ConfigMap n/dash d.json "D" panel "In row" target A', expr: 'up', dashboardVariables: own },
    { kind: 'panel', source: 'ConfigMap n/dash d.json "D" panel "Top" target B', expr: 'sum(up)', dashboardVariables: own },
    { kind: 'variable', source: 'ConfigMap n/dash d.json "D" variable $ns', expr: 'label_values(up, namespace)', dashboardVariables: own },
    { kind: 'variable', source: 'ConfigMap n/dash d.json "D" variable $old', expr: 'label_values(up, pod)', dashboardVariables: own },
    { kind: 'annotation', source: 'ConfigMap n/dash d.json "D" annotation "deploys"', expr: 'changes(up[5m]) > 0', dashboardVariables: own },
    { kind: 'rule', source: 'PrometheusRule n/rules group "g" alert A', expr: 'up == 0', rule: 'A' },
    { kind: 'rule', source: 'PrometheusRule n/rules group "g" record r:up', expr: 'sum(up)', rule: 'r:up' },
  ]);
  expect(() => extractQueries([{ kind: 'ConfigMap', metadata: { name: 'bad', labels: { grafana_dashboard: '1' } }, data: { 'b.json': '{' } }])).toThrow(
    /^ConfigMap bad key b.json: not dashboard JSON/,
  );
});

describe('evaluateQueries on a real Prometheus', () => {
  let prometheus: PrometheusServer;
  afterAll(async () => prometheus?.stop());

  test('parse errors, unknown variables, no data and data told apart; selectors counted; coverage by exported families', async () => {
    prometheus = await startPrometheus();
    const self = { job: 'self', address: `127.0.0.1:${prometheus.port}`, labels: { namespace: 'mon', pod: 'prometheus-abc12-def34' } };
    await prometheus.reconfigure({ targets: [self] });
    await prometheus.waitForTargetsUp();
    // rate() needs two scrapes.
    await waitFor(async () => Number((await prometheus.query('count_over_time(up{job="self"}[1m])'))[0]?.value[1] ?? 0) >= 2, 'two scrapes', 10_000, 200);
    const query = (kind: ShippedQuery['kind'], source: string, expr: string): ShippedQuery => ({ kind, source, expr });
    const queries = [
      query('panel', 'data', 'sum(rate(prometheus_http_requests_total{namespace="$ns"}[$__rate_interval]))'),
      query('panel', 'parse', 'sum(up{namespace="$ns"}'),
      query('panel', 'unknown', 'up{pod="$pod"}'),
      query('panel', 'nothing', 'up{namespace="elsewhere"}'),
      query('panel', 'cluster', 'kube_deployment_status_replicas_ready{namespace="$ns"}'),
      query('variable', 'variable', 'label_values(up{job="self"}, pod)'),
      query('rule', 'quiet alert', 'up{namespace="mon"} == 0'),
      query('rule', 'alert over nothing', 'absent(up{namespace="elsewhere"}) and up == 0'),
    ];
    const report = await evaluateQueries(prometheus, queries, { variables: { ns: 'mon' } });
    const by = Object.fromEntries(report.outcomes.map((o) => [o.query.source, o]));
    expect(by.data).toMatchObject({ promql: 'sum(rate(prometheus_http_requests_total{namespace="mon"}[15s]))', samples: 1, parseError: false });
    expect(by.data.selectors).toEqual([{ metric: 'prometheus_http_requests_total', text: 'prometheus_http_requests_total{namespace="mon"}', series: expect.any(Number) }]);
    expect(by.data.selectors[0].series).toBeGreaterThan(0);
    expect(by.parse).toMatchObject({ parseError: true, error: expect.stringMatching(/bad_data: .*parse error/) });
    expect(by.unknown).toMatchObject({ parseError: false, error: 'no value for $pod in up{pod="$pod"}' });
    expect(by.nothing).toMatchObject({ samples: 0, selectors: [{ metric: 'up', text: 'up{namespace="elsewhere"}', series: 0 }] });
    expect(by.variable).toMatchObject({ promql: 'group by (pod) (up{job="self"})', samples: 1 });
    expect(by['quiet alert']).toMatchObject({ samples: 0, selectors: [{ metric: 'up', series: 1 }] });
    expect(report.parseErrors.map((o) => o.query.source)).toEqual(['parse']);
    expect(report.errors.map((o) => o.query.source)).toEqual(['unknown']);
    expect(report.noData.map((o) => o.query.source)).toEqual(['nothing', 'cluster', 'quiet alert', 'alert over nothing']);

    const { failures, elsewhere } = coverage(report, new Set(['up', 'prometheus_http_requests_total']));
    // A quiet alert is fine when its selectors match; an alert over a selector matching nothing is not.
    expect(failures.map((o) => o.query.source)).toEqual(['parse', 'unknown', 'nothing', 'alert over nothing']);
    expect(elsewhere.map((o) => o.query.source)).toEqual(['cluster']);
  }, 30_000);
});
