/**
 * The one place that speaks the Grafana Foundation SDK: a dashboard described as rows of panels of PromQL
 * queries (plain data, what the per-concern builders write) becomes Grafana's JSON model. Every panel and
 * target reads the data source variable `$datasource`; `$namespace` is a text box holding the workloads'
 * namespace. The SDK's types stay in this folder: the public API hands out JSON text.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/** Name of the data source variable every panel reads (`${datasource}`). */
export const DATASOURCE_VARIABLE = 'datasource';
/** Name of the namespace variable every query selects with (`$namespace`). */
export const NAMESPACE_VARIABLE = 'namespace';
/** The reference of every panel and target: the data source the variable holds. */
const DATASOURCE: { type: string; uid: string } = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };

/** One PromQL query of a panel and how its series are named in the legend. */
export interface QuerySpec {
  readonly expr: string;
  readonly legend: string;
}

/** A panel: a time series graph, or a stat showing the last value. */
export interface PanelSpec {
  readonly title: string;
  readonly description: string;
  /** Grafana's unit id: `s`, `bytes`, `ops`, `short`, `none`. */
  readonly unit: string;
  readonly queries: readonly QuerySpec[];
  /** A stat (single value) instead of a graph. */
  readonly stat?: boolean;
}

/** A titled row of panels. */
export interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

/** A whole dashboard. */
export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  /** The data source the variable starts with; Grafana's default Prometheus data source when undefined. */
  readonly datasource?: string;
  /** The workloads' namespace, the namespace variable's value. */
  readonly namespace: string;
  readonly rows: readonly RowSpec[];
}

const GRID_WIDTH = 24;
const GRAPH = { w: 12, h: 8 };
const STAT = { w: 6, h: 4 };

/** Grafana's JSON model of the dashboard, as the SDK builds it. */
export function buildDashboard(spec: DashboardSpec): unknown {
  const builder = new dashboard.DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags([...spec.tags])
    .editable()
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(datasourceVariable(spec.datasource))
    .withVariable(
      new dashboard.TextBoxVariableBuilder(NAMESPACE_VARIABLE)
        .label('Namespace')
        .description("Namespace of the workloads (the chart's)")
        .defaultValue(spec.namespace)
        .current({ text: spec.namespace, value: spec.namespace }),
    );
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    builder.withRow(new dashboard.RowBuilder(row.title).id(id++).gridPos({ x: 0, y, w: GRID_WIDTH, h: 1 }));
    y += 1;
    let x = 0;
    let lineHeight = 0;
    for (const panel of row.panels) {
      const size = panel.stat ? STAT : GRAPH;
      if (x + size.w > GRID_WIDTH) {
        x = 0;
        y += lineHeight;
        lineHeight = 0;
      }
      builder.withPanel(panelBuilder(panel, id++, { x, y, ...size }));
      x += size.w;
      lineHeight = Math.max(lineHeight, size.h);
    }
    y += lineHeight;
  }
  return builder.build();
}

function datasourceVariable(initial: string | undefined): dashboard.DatasourceVariableBuilder {
  const variable = new dashboard.DatasourceVariableBuilder(DATASOURCE_VARIABLE).label('Data source').type('prometheus');
  return initial === undefined ? variable : variable.current({ text: initial, value: initial });
}

function panelBuilder(panel: PanelSpec, id: number, gridPos: dashboard.GridPos): stat.PanelBuilder | timeseries.PanelBuilder {
  const targets = panel.queries.map((q, i) =>
    new prometheus.DataqueryBuilder()
      .expr(q.expr)
      .legendFormat(q.legend)
      .refId(String.fromCharCode(65 + i))
      .datasource(DATASOURCE),
  );
  if (panel.stat) {
    const p = new stat.PanelBuilder()
      .id(id)
      .title(panel.title)
      .description(panel.description)
      .datasource(DATASOURCE)
      .unit(panel.unit)
      .gridPos(gridPos)
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false));
    for (const t of targets) p.withTarget(t);
    return p;
  }
  const p = new timeseries.PanelBuilder()
    .id(id)
    .title(panel.title)
    .description(panel.description)
    .datasource(DATASOURCE)
    .unit(panel.unit)
    .min(0)
    .gridPos(gridPos)
    .legend(new common.VizLegendOptionsBuilder().showLegend(true).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None));
  for (const t of targets) p.withTarget(t);
  return p;
}
