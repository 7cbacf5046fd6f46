import { getJson, type RunningService } from './service-process.js';

/** A plugin's entry in GET /plugins, as far as the tests that count its messages read it. */
export interface PluginInfo {
  ident: string;
  counters: { received: number; applied: number; dropped: Record<string, number> };
}

/** The running service's /plugins entry for `ident`, or undefined when it serves none. */
export const pluginInfo = async (svc: RunningService, ident: string): Promise<PluginInfo | undefined> => {
  const { body } = await getJson(`${svc.base}/plugins`);
  return (body as { plugins: PluginInfo[] }).plugins.find((p) => p.ident === ident);
};
