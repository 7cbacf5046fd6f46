/** The one stylesheet of the pages: inlined, so nothing is fetched from outside. */
export const STYLE = `
:root { --fg: #1d1f21; --muted: #5c6370; --accent: #294172; --line: #d8dee9; --bg: #fbfbfd; --flash: #fff3b0; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header { background: var(--accent); color: #fff; padding: 1.2rem 2rem; }
header h1 { margin: 0; font-size: 1.6rem; }
header p { margin: .2rem 0 0; opacity: .85; }
header a { color: #fff; }
nav { margin-top: .5rem; }
nav a { margin-right: 1rem; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem 2rem 3rem; }
h2 { border-bottom: 1px solid var(--line); padding-bottom: .2rem; margin-top: 2rem; }
code, pre { font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
pre { background: #f0f2f6; padding: .8rem 1rem; overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f6; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.muted { color: var(--muted); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .8rem 1rem; }
.card h3 { margin: 0; font-size: 1.05rem; }
.card table { font-size: 13px; }
.status { display: inline-block; padding: .1rem .5rem; border-radius: 3px; background: #ccc; color: #000; font-size: 13px; }
.status.live { background: #b7e4c7; }
.status.down { background: #f4c7c3; }
.flash { animation: flash 1.2s ease-out; }
@keyframes flash { from { background: var(--flash); } to { background: transparent; } }
`;
