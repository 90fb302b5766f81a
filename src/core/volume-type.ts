/**
 * Which cloud volume type backs a PVC, from what Kubernetes says: the StorageClass parameters,
 * or the VolumeAttributesClass the PVC names (which overrides the class's type when it sets one).
 * The cloud's own answer (EBS DescribeVolumes, the Compute disk) is better still, and the pass
 * uses it when the provider read it; this is what is known without a cloud call.
 */
import type { PriceProvider } from './prices.js';
import type { StorageClassInfo } from './pvc.js';

/** A storage.k8s.io/v1 VolumeAttributesClass: a driver's mutable parameters, by name. */
export interface VolumeAttributesClassInfo {
  name: string;
  driverName: string;
  parameters: Readonly<Record<string, string>>;
}

export interface VolumeType {
  provider: PriceProvider;
  /** As the provider spells it: gp3, pd-balanced, Premium_LRS. */
  type: string;
  /** Where the type was read, for `explain`: "StorageClass gp3", "EBS DescribeVolumes". */
  source: string;
}

interface DriverTypes {
  provider: PriceProvider;
  /** The parameter names that carry the type, matched without regard to case (as the drivers do). */
  keys: readonly string[];
}

const AWS: DriverTypes = { provider: 'aws', keys: ['type'] };
const GCP: DriverTypes = { provider: 'gcp', keys: ['type'] };
// skuName (CSI; also documented as skuname), storageaccounttype (in-tree and old CSI).
const AZURE: DriverTypes = { provider: 'azure', keys: ['skuName', 'storageAccountType'] };

const DRIVERS: ReadonlyMap<string, DriverTypes> = new Map([
  ['ebs.csi.aws.com', AWS],
  ['kubernetes.io/aws-ebs', AWS],
  ['pd.csi.storage.gke.io', GCP],
  ['kubernetes.io/gce-pd', GCP],
  ['disk.csi.azure.com', AZURE],
  ['kubernetes.io/azure-disk', AZURE],
]);

/** The priced provider behind a provisioner or CSI driver name, if any. */
export function driverProvider(driver: string | undefined): PriceProvider | undefined {
  return driver === undefined ? undefined : DRIVERS.get(driver)?.provider;
}

/** The type parameter of a class or VolumeAttributesClass of `driver`, if it sets one. */
export function typeParameter(
  driver: string,
  parameters: Readonly<Record<string, string>>,
): string | undefined {
  const known = DRIVERS.get(driver);
  if (known === undefined) return undefined;
  const wanted = known.keys.map((key) => key.toLowerCase());
  for (const [key, value] of Object.entries(parameters)) {
    const trimmed = value.trim();
    if (wanted.includes(key.toLowerCase()) && trimmed !== '')
      return known.provider === 'azure' ? trimmed : trimmed.toLowerCase();
  }
  return undefined;
}

/**
 * The PVC's volume type, or undefined when Kubernetes does not say: a class without a type
 * parameter is left to the driver's default, which has changed between driver versions, so it is
 * not assumed. A PVC naming a VolumeAttributesClass that is not known has no known type either.
 */
export function volumeTypeOf(
  pvc: { volumeAttributesClassName?: string | undefined },
  storageClass: StorageClassInfo | undefined,
  volumeClasses: ReadonlyMap<string, VolumeAttributesClassInfo>,
): VolumeType | undefined {
  if (storageClass === undefined) return undefined;
  const driver = storageClass.provisioner;
  const provider = driverProvider(driver);
  if (provider === undefined) return undefined;
  const vacName = pvc.volumeAttributesClassName;
  if (vacName !== undefined && vacName !== '') {
    const vac = volumeClasses.get(vacName);
    if (vac === undefined || vac.driverName !== driver) return undefined;
    const type = typeParameter(driver, vac.parameters);
    if (type !== undefined) return { provider, type, source: `VolumeAttributesClass ${vacName}` };
  }
  const type = typeParameter(driver, storageClass.parameters);
  return type === undefined
    ? undefined
    : { provider, type, source: `StorageClass ${storageClass.name}` };
}
