import { at, strAt } from '../fields.js';
import type { ReleaseSource } from './event.js';
import { safeLink } from '../../src/meta/safe-link.js';

const TOPIC = /^org\.fedoraproject\.prod\.fedimg\.image\.(upload|test)$/;
const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d+$/;

/**
 * The EC2 region of a fedimg destination. fedimg wrote `"EC2 (eu-west-1)"`-style values
 * first and later plain `eu-west-1` or `EC2-eu-west-1`; the original only knew the first
 * and crashed on the others.
 */
export function regionOf(destination: string): string | undefined {
  const d = destination.trim();
  const candidate = /\(([^()]*)\)\s*$/.exec(d)?.[1] ?? /^EC2[-_ ](.+)$/i.exec(d)?.[1] ?? d;
  const region = candidate.trim().toLowerCase();
  return REGION.test(region) ? region : undefined;
}

export function launchUrl(region: string, amiId: string): string | undefined {
  return safeLink(
    `https://redirect.fedoraproject.org/console.aws.amazon.com/ec2/v2/home?region=${encodeURIComponent(region)}#LaunchInstanceWizard:ami=${encodeURIComponent(amiId)}`,
    ['redirect.fedoraproject.org'],
  );
}

/**
 * Completed AMI uploads and tests: rawhide images (the 4th `-` token of the image name's
 * first `.` part is `rawhide`) versus everything else, one entry per image and region.
 */
export const amisSource: ReleaseSource = (message) => {
  if (!TOPIC.test(message.topic)) return null;
  const body = message.body;
  if (at(body, 'status') !== 'completed') return null;
  const imageName = strAt(body, 'image_name');
  const destination = strAt(body, 'destination');
  if (imageName === undefined || destination === undefined) return null;
  const region = regionOf(destination);
  if (region === undefined) return null;
  const version = (imageName.split('.')[0] ?? '').split('-')[3]?.toLowerCase();
  const amiId = strAt(body, 'extra', 'id');
  const launch = amiId === undefined ? undefined : launchUrl(region, amiId);
  return {
    category: version === 'rawhide' ? 'ami-rawhide' : 'ami-branched',
    constraint: `${imageName}-${region}`,
    message: {
      name: imageName,
      extra_text: destination,
      ...(launch === undefined ? {} : { extra_link: launch }),
      status: 'completed',
    },
  };
};
