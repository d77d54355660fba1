/**
 * Every PromQL query a chart ships, run through a real Prometheus: the `expr` of each Grafana dashboard panel target,
 * annotation and query variable in ConfigMaps labelled `grafana_dashboard` (each data value a dashboard's JSON, as
 * kube-prometheus-stack's Grafana sidecar loads them), and of each rule of each PrometheusRule. Grafana's variables
 * (`$var`, `${var}`, `${var:format}`, `[[var]]`, and the built-ins `$__rate_interval`, `$__interval`, `$__range`, ...)
 * are substituted with given values first, and variable queries (`label_values(...)`, `query_result(...)`) turned
 * into the PromQL Grafana's Prometheus data source runs for them. The report says which queries Prometheus refused
 * (a parse error), which returned no data, and, per query, each vector selector in it with its series count, so a
 * test can tell "nothing matched" from "an alert that does not fire".
 */
import type { PrometheusServer } from './prometheus-server';

/** Where a query comes from. */
export type QueryKind = 'panel' | 'variable' | 'annotation' | 'rule';

export interface ShippedQuery {
  readonly kind: QueryKind;
  /** Where it is, for messages: `ConfigMap ns/name key.json "Dashboard" panel "Title" target A`. */
  readonly source: string;
  /** The query as shipped (a variable's query in Grafana's own syntax, e.g. `label_values(m, label)`). */
  readonly expr: string;
  /** Of a dashboard: its variables' own values (constants, custom and textbox defaults), used when no value is given. */
  readonly dashboardVariables?: Readonly<Record<string, string>>;
  /** Of a rule: the alert's or recording rule's name. */
  readonly rule?: string;
}

/** Values of Grafana's built-in variables, chosen for a Prometheus that scrapes every second. */
export const DEFAULT_BUILTINS: Readonly<Record<string, string>> = {
  __rate_interval: '15s',
  __interval: '2s',
  __interval_ms: '2000',
  __range: '5m',
  __range_s: '300',
  __range_ms: '300000',
  __auto: '2s',
};

/** The label in which kube-prometheus-stack's Grafana sidecar finds dashboards. */
export const DASHBOARD_LABEL = 'grafana_dashboard';

interface K8sObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly labels?: Record<string, string> };
  readonly data?: Record<string, string>;
  readonly spec?: { readonly groups?: readonly { readonly name?: string; readonly rules?: readonly RuleJson[] }[] };
}

interface RuleJson {
  readonly alert?: string;
  readonly record?: string;
  readonly expr?: string | number;
}

interface PanelJson {
  readonly title?: string;
  readonly type?: string;
  readonly targets?: readonly { readonly expr?: string; readonly refId?: string }[];
  readonly panels?: readonly PanelJson[];
}

interface VariableJson {
  readonly name?: string;
  readonly type?: string;
  readonly query?: string | { readonly query?: string };
  readonly definition?: string;
  readonly current?: { readonly value?: unknown };
}

interface DashboardJson {
  readonly title?: string;
  readonly panels?: readonly PanelJson[];
  readonly templating?: { readonly list?: readonly VariableJson[] };
  readonly annotations?: { readonly list?: readonly { readonly name?: string; readonly expr?: string }[] };
}

function objectName(doc: K8sObject): string {
  return `${doc.metadata?.namespace ? `${doc.metadata.namespace}/` : ''}${doc.metadata?.name ?? '(no name)'}`;
}

/** Every query of every dashboard ConfigMap and PrometheusRule among `documents` (e.g. `Testing.synth(chart)`). */
export function extractQueries(documents: readonly unknown[]): ShippedQuery[] {
  const queries: ShippedQuery[] = [];
  for (const doc of documents as K8sObject[]) {
    if (!doc || typeof doc !== 'object') continue;
    if (doc.kind === 'ConfigMap' && doc.metadata?.labels?.[DASHBOARD_LABEL] !== undefined) {
      for (const [key, json] of Object.entries(doc.data ?? {})) {
        let dashboard: DashboardJson;
        try {
          dashboard = JSON.parse(json) as DashboardJson;
        } catch (error) {
          throw new Error(`ConfigMap ${objectName(doc)} key ${key}: not dashboard JSON (${(error as Error).message})`);
        }
        queries.push(...dashboardQueries(dashboard, `ConfigMap ${objectName(doc)} ${key} "${dashboard.title ?? ''}"`));
      }
    }
    if (doc.kind === 'PrometheusRule') {
      for (const group of doc.spec?.groups ?? []) {
        for (const rule of group.rules ?? []) {
          const name = rule.alert ?? rule.record ?? '(unnamed)';
          if (rule.expr === undefined) continue;
          queries.push({
            kind: 'rule',
            source: `PrometheusRule ${objectName(doc)} group "${group.name ?? ''}" ${rule.alert ? 'alert' : 'record'} ${name}`,
            expr: String(rule.expr),
            rule: name,
          });
        }
      }
    }
  }
  return queries;
}

function dashboardQueries(dashboard: DashboardJson, where: string): ShippedQuery[] {
  const variables = dashboard.templating?.list ?? [];
  const dashboardVariables: Record<string, string> = {};
  for (const variable of variables) {
    if (!variable.name) continue;
    const own = variable.type === 'constant' ? variable.query : variable.current?.value;
    const value = Array.isArray(own) ? own[0] : own;
    if (['constant', 'custom', 'textbox', 'interval'].includes(variable.type ?? '') && typeof value === 'string' && value !== '') dashboardVariables[variable.name] = value;
  }
  const queries: ShippedQuery[] = [];
  const walk = (panels: readonly PanelJson[]) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (typeof target.expr === 'string' && target.expr.trim() !== '')
          queries.push({ kind: 'panel', source: `${where} panel "${panel.title ?? ''}" target ${target.refId ?? '?'}`, expr: target.expr, dashboardVariables });
      }
      walk(panel.panels ?? []); // a collapsed row holds its panels
    }
  };
  walk(dashboard.panels ?? []);
  for (const variable of variables) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? variable.definition);
    if (query) queries.push({ kind: 'variable', source: `${where} variable $${variable.name ?? ''}`, expr: query, dashboardVariables });
  }
  for (const annotation of dashboard.annotations?.list ?? []) {
    if (typeof annotation.expr === 'string' && annotation.expr.trim() !== '')
      queries.push({ kind: 'annotation', source: `${where} annotation "${annotation.name ?? ''}"`, expr: annotation.expr, dashboardVariables });
  }
  return queries;
}

/** A variable was used that has no value. */
export class UnknownVariableError extends Error {}

const VARIABLE = /\$\{([A-Za-z_]\w*)(?::(\w+))?\}|\[\[([A-Za-z_]\w*)(?::(\w+))?\]\]|\$([A-Za-z_]\w*)/g;

/** `expr` with Grafana's variables replaced by `values` (a single value each); `${var:regex}` escapes it for a regex. */
export function substituteVariables(expr: string, values: Readonly<Record<string, string>>): string {
  const unknown = new Set<string>();
  const result = expr.replace(VARIABLE, (whole, braced?: string, bracedFormat?: string, bracketed?: string, bracketedFormat?: string, bare?: string) => {
    const name = (braced ?? bracketed ?? bare) as string;
    const format = bracedFormat ?? bracketedFormat;
    const value = values[name];
    if (value === undefined) {
      unknown.add(name);
      return whole;
    }
    return format === 'regex' ? value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : value;
  });
  if (unknown.size > 0) throw new UnknownVariableError(`no value for ${[...unknown].map((n) => `$${n}`).join(', ')} in ${expr}`);
  return result;
}

/**
 * The PromQL Grafana's Prometheus data source runs for a variable query: `label_values(selector, label)` reads the
 * label's values from the matching series (`group by (label) (selector)`), `label_values(label)` from all series,
 * `query_result(q)` runs q, `metrics(regex)` lists names; anything else is PromQL already.
 */
export function variableQueryAsPromql(query: string): string {
  const trimmed = query.trim();
  const call = /^(label_values|query_result|metrics|label_names)\s*\(([\s\S]*)\)\s*$/.exec(trimmed);
  if (!call) return trimmed;
  const [, fn, inner] = call;
  switch (fn) {
    case 'label_values': {
      const comma = lastTopLevelComma(inner);
      if (comma < 0) return `group by (${inner.trim()}) ({${inner.trim()}!=""})`;
      return `group by (${inner.slice(comma + 1).trim()}) (${inner.slice(0, comma).trim()})`;
    }
    case 'query_result':
      return inner.trim();
    case 'metrics':
      return `group by (__name__) ({__name__=~${JSON.stringify(inner.trim())}})`;
    default:
      return 'group by (__name__) ({__name__=~".+"})';
  }
}

function lastTopLevelComma(text: string): number {
  let depth = 0;
  let quote: string | undefined;
  let found = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === '`') quote = c;
    else if ('({['.includes(c)) depth++;
    else if (')}]'.includes(c)) depth--;
    else if (c === ',' && depth === 0) found = i;
  }
  return found;
}

/** A vector selector of a query: the metric name (or '' for `{...}` alone) and its text without a range. */
export interface VectorSelector {
  readonly metric: string;
  readonly text: string;
}

/** Keywords and names that are not metric names where they stand. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan', 'Inf', 'NaN']);
/** Aggregation operators: `sum by (le) (...)` names no metric `sum`. */
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
/** Keywords followed by a list of label names in parentheses. */
const LABEL_LIST_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** The vector selectors of a PromQL expression, in order, duplicates removed (a small lexer, not a full parser). */
export function vectorSelectors(promql: string): VectorSelector[] {
  const found: VectorSelector[] = [];
  const seen = new Set<string>();
  const add = (metric: string, text: string) => {
    if (!seen.has(text)) found.push({ metric, text });
    seen.add(text);
  };
  let i = 0;
  const skipSpace = () => {
    while (i < promql.length) {
      if (/\s/.test(promql[i])) i++;
      else if (promql[i] === '#') while (i < promql.length && promql[i] !== '\n') i++;
      else break;
    }
  };
  const skipString = () => {
    const quote = promql[i++];
    while (i < promql.length && promql[i] !== quote) i += promql[i] === '\\' && quote !== '`' ? 2 : 1;
    i++;
  };
  /** From an opening bracket to just past its match, skipping strings. */
  const skipGroup = () => {
    const open = promql[i];
    const close = open === '{' ? '}' : open === '[' ? ']' : ')';
    let depth = 0;
    while (i < promql.length) {
      const c = promql[i];
      if (c === '"' || c === "'" || c === '`') {
        skipString();
        continue;
      }
      if (c === open) depth++;
      else if (c === close && --depth === 0) {
        i++;
        return;
      }
      i++;
    }
  };
  while (i < promql.length) {
    skipSpace();
    const c = promql[i];
    if (c === undefined) break;
    if (c === '"' || c === "'" || c === '`') skipString();
    else if (c === '[') skipGroup();
    else if (c === '{') {
      const start = i;
      skipGroup();
      const text = promql.slice(start, i);
      add(/__name__\s*=\s*"([^"]+)"/.exec(text)?.[1] ?? '', text);
    } else if (/[0-9.]/.test(c)) {
      while (i < promql.length && /[0-9a-zA-Z_.]/.test(promql[i])) i++;
    } else if (/[A-Za-z_:]/.test(c)) {
      const start = i;
      while (i < promql.length && /[A-Za-z0-9_:]/.test(promql[i])) i++;
      const word = promql.slice(start, i);
      skipSpace();
      if (LABEL_LIST_KEYWORDS.has(word)) {
        if (promql[i] === '(') skipGroup();
      } else if (KEYWORDS.has(word) || promql[i] === '(' || (AGGREGATIONS.has(word) && /^(by|without)\b/.test(promql.slice(i)))) {
        // an operator, or a function or aggregation: its arguments are read on
      } else if (promql[i] === '{') {
        const open = i;
        skipGroup();
        add(word, `${word}${promql.slice(open, i)}`);
      } else add(word, word);
    } else i++;
  }
  return found;
}

export interface SelectorOutcome extends VectorSelector {
  /** Series the selector matches now (0: nothing matched). */
  readonly series: number;
}

export interface QueryOutcome {
  readonly query: ShippedQuery;
  /** What was sent to Prometheus (variables substituted, a variable query turned into PromQL). */
  readonly promql?: string;
  /** Prometheus refused it, or a variable had no value. */
  readonly error?: string;
  /** The refusal was a parse error. */
  readonly parseError: boolean;
  /** Samples (or a scalar: 1) the query returned. */
  readonly samples: number;
  readonly selectors: readonly SelectorOutcome[];
}

export interface QueryReport {
  readonly outcomes: readonly QueryOutcome[];
  /** Refused by Prometheus' parser. */
  readonly parseErrors: readonly QueryOutcome[];
  /** Other errors (a variable without a value, an execution error). */
  readonly errors: readonly QueryOutcome[];
  /** Ran, and returned nothing. */
  readonly noData: readonly QueryOutcome[];
}

export interface EvaluateOptions {
  /** Values of the dashboards' variables (they win over a dashboard's own constants and defaults). */
  readonly variables?: Readonly<Record<string, string>>;
  /** Values of Grafana's built-ins. @default DEFAULT_BUILTINS */
  readonly builtins?: Readonly<Record<string, string>>;
  /** Evaluation time (unix seconds). @default - now */
  readonly time?: number;
}

/** Runs each query (and each of its vector selectors) as an instant query. */
export async function evaluateQueries(prometheus: PrometheusServer, queries: readonly ShippedQuery[], options: EvaluateOptions = {}): Promise<QueryReport> {
  const outcomes: QueryOutcome[] = [];
  for (const query of queries) outcomes.push(await evaluate(prometheus, query, options));
  return {
    outcomes,
    parseErrors: outcomes.filter((o) => o.parseError),
    errors: outcomes.filter((o) => o.error !== undefined && !o.parseError),
    noData: outcomes.filter((o) => o.error === undefined && o.samples === 0),
  };
}

async function evaluate(prometheus: PrometheusServer, query: ShippedQuery, options: EvaluateOptions): Promise<QueryOutcome> {
  const values = { ...(query.dashboardVariables ?? {}), ...(options.variables ?? {}), ...(options.builtins ?? DEFAULT_BUILTINS) };
  let promql: string;
  try {
    // Rules are PromQL already: no Grafana variables in them (a `$` there is Prometheus' to refuse).
    promql = query.kind === 'rule' ? query.expr : substituteVariables(query.kind === 'variable' ? variableQueryAsPromql(query.expr) : query.expr, values);
  } catch (error) {
    return { query, error: (error as Error).message, parseError: false, samples: 0, selectors: [] };
  }
  try {
    const samples = (await prometheus.query(promql, options.time)).length;
    const selectors: SelectorOutcome[] = [];
    for (const selector of vectorSelectors(promql)) {
      const series = (await prometheus.query(`count(${selector.text})`, options.time))[0]?.value[1];
      selectors.push({ ...selector, series: series === undefined ? 0 : Number(series) });
    }
    return { query, promql, parseError: false, samples, selectors };
  } catch (error) {
    const message = (error as Error).message;
    return { query, promql, error: message, parseError: /bad_data: .*parse error/.test(message), samples: 0, selectors: [] };
  }
}

/** One line per outcome, for a failure message or a note: where, what ran, and what came back. */
export function describeOutcomes(outcomes: readonly QueryOutcome[]): string {
  return outcomes
    .map((o) => {
      const result = o.error ? `error: ${o.error}` : `${o.samples} samples; selectors: ${o.selectors.map((s) => `${s.text} (${s.series})`).join(', ')}`;
      return `- ${o.query.source}\n    ${o.promql ?? o.query.expr}\n    ${result}`;
    })
    .join('\n');
}

/** The metric names a query's selectors read (histogram and summary series named by their family: `x_bucket` -> `x`). */
export function metricFamilies(outcome: QueryOutcome, families: ReadonlySet<string>): string[] {
  return outcome.selectors.map((s) => {
    const base = s.metric.replace(/_(bucket|sum|count)$/, '');
    return families.has(s.metric) || !families.has(base) ? s.metric : base;
  });
}

export interface Coverage {
  /** Queries that break the promise: refused, erroring, or over exported series yet empty. */
  readonly failures: readonly QueryOutcome[];
  /** Queries reading series the observed programs do not export (kube-state-metrics, KEDA): listed, not required. */
  readonly elsewhere: readonly QueryOutcome[];
}

/**
 * What a run proves, given the metric families the observed programs export: every query parses and runs; every
 * selector over an exported family matches series; a panel, variable or annotation query over exported families
 * only returns data (an alert or annotation may rightly return nothing: it does not fire).
 */
export function coverage(report: QueryReport, exported: ReadonlySet<string>): Coverage {
  const failures: QueryOutcome[] = [];
  const elsewhere: QueryOutcome[] = [];
  for (const outcome of report.outcomes) {
    if (outcome.error !== undefined) {
      failures.push(outcome);
      continue;
    }
    const families = metricFamilies(outcome, exported);
    const ours = outcome.selectors.filter((_, i) => exported.has(families[i]));
    const onlyOurs = ours.length === outcome.selectors.length && ours.length > 0;
    if (ours.some((s) => s.series === 0) || (onlyOurs && (outcome.query.kind === 'panel' || outcome.query.kind === 'variable') && outcome.samples === 0)) failures.push(outcome);
    else if (!onlyOurs) elsewhere.push(outcome);
  }
  return { failures, elsewhere };
}
