// gRPC server reflection whose index is built at the first reflection call instead of at start.
// @grpc/reflection's constructor decodes every file descriptor of the package (ours, the health
// service's and their imports): 50-100 ms of xlbd's start on the benchmark VM (measured in
// isolation), paid before the daemon could become ready, for a service that `grpcurl` and the like
// use now and then. The services are registered at start as before (the reflection protos are
// small), with handlers that build the real implementation once and hand every stream to it.
import type { Server, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { PackageDefinition } from '@grpc/proto-loader';

type Registered = { definition: ServiceDefinition; handlers: UntypedServiceImplementation };

/** What ReflectionService#addToServer adds, captured instead of added. */
function capture(service: ReflectionService): Registered[] {
  const out: Registered[] = [];
  service.addToServer({
    addService: (definition: ServiceDefinition, handlers: UntypedServiceImplementation) => void out.push({ definition, handlers }),
  } as unknown as Pick<Server, 'addService'> as Server);
  return out;
}

/** The name of a service definition: the path prefix its methods share (/pkg.Service/). */
function serviceName(definition: ServiceDefinition): string {
  const first = Object.values(definition)[0];
  if (!first) throw new Error('reflection: a service without methods');
  return first.path.slice(0, first.path.lastIndexOf('/') + 1);
}

/**
 * Adds the reflection services (v1 and v1alpha) for `pkg` to `server`; `pkg` is read at the first
 * reflection call (it must not change afterwards).
 */
export function addLazyReflection(server: Server, pkg: () => PackageDefinition): void {
  let real: Map<string, UntypedServiceImplementation> | undefined;
  const implementation = (name: string, method: string) => {
    real ??= new Map(capture(new ReflectionService(pkg())).map((r) => [serviceName(r.definition), r.handlers]));
    const h = real.get(name)?.[method];
    if (typeof h !== 'function') throw new Error(`reflection: no ${method} in ${name}`);
    return h as (...a: unknown[]) => void;
  };
  // An empty package has nothing to decode: cheap, and it yields the services' definitions.
  for (const { definition, handlers } of capture(new ReflectionService({}))) {
    const name = serviceName(definition);
    const lazy: UntypedServiceImplementation = {};
    for (const method of Object.keys(handlers)) lazy[method] = (...a: unknown[]) => implementation(name, method)(...a);
    server.addService(definition, lazy);
  }
}
