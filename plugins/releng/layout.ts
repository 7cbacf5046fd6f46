/**
 * The layout the Fedora release-engineering dashboard renders (statscache-api.md, "What the
 * real release-engineering dashboard calls"): groups of components whose `id` is the
 * `category` of this plugin's rows, plus display defaults. It is part of the plugin's
 * contract with that dashboard, so it is written here as code, not loaded at run time.
 */
export interface ReleaseComponent {
  readonly id: string;
  readonly name: string;
  readonly show_status?: boolean;
  readonly show_time_at?: boolean;
  readonly link_for?: 'name' | 'message';
}

export interface ReleaseGroup {
  readonly id: string;
  readonly name?: string;
  readonly components: readonly ReleaseComponent[];
}

export interface ReleaseLayout {
  readonly groups: readonly ReleaseGroup[];
  readonly default_options: Readonly<Record<string, unknown>>;
}

export const RELEASE_LAYOUT: ReleaseLayout = {
  groups: [
    {
      id: 'compose',
      components: [
        {
          id: 'compose-rawhide_primary',
          name: 'Rawhide Compose (Primary)',
        },
        {
          id: 'compose-rawhide_arm',
          name: 'Rawhide Compose (arm)',
        },
        {
          id: 'compose-rawhide_ppc',
          name: 'Rawhide Compose (ppc)',
        },
        {
          id: 'compose-rawhide_s390',
          name: 'Rawhide Compose (s390)',
        },
      ],
    },
    {
      id: 'updates',
      components: [
        {
          id: 'updates-fedora',
          name: 'Repo Updates (Fedora)',
        },
        {
          id: 'updates-epel',
          name: 'Repo Updates (Fedora)',
        },
      ],
    },
    {
      id: 'amis',
      components: [
        {
          id: 'ami-branched',
          name: 'AMIs (branched)',
          link_for: 'name',
          show_time_at: false,
        },
        {
          id: 'ami-rawhide',
          name: 'AMIs (rawhide)',
          link_for: 'message',
          show_time_at: false,
        },
      ],
    },
    {
      id: 'appliance',
      name: 'Appliance builds (rawhide)',
      components: [
        {
          id: 'artifact-appliance_armhfp',
          name: 'armhfp',
          show_status: false,
          show_time_at: false,
        },
      ],
    },
    {
      id: 'livecd',
      name: 'LiveCD builds (rawhide)',
      components: [
        {
          id: 'artifact-livecd_x86_64',
          name: 'x86_64',
          show_time_at: false,
        },
        {
          id: 'artifact-livecd_i686',
          name: 'i686',
          show_time_at: false,
        },
      ],
    },
  ],
  default_options: {
    show_time_at: true,
    show_status: true,
    status_verb_map: {
      complete: 'completed',
      start: 'started',
      open: 'opened',
      close: 'closed',
    },
    status_class_map: {
      complete: 'text-primary',
      start: 'text-warning',
      failed: 'text-danger',
      closed: 'text-primary',
      open: 'text-warning',
      opened: 'text-warning',
    },
    old_log_threshold: {
      key: 'hours',
      value: 24,
    },
  },
};

/** Every component id of the layout: the categories the dashboard shows. */
export const LAYOUT_CATEGORIES: ReadonlySet<string> = new Set(
  RELEASE_LAYOUT.groups.flatMap((g) => g.components.map((c) => c.id)),
);
