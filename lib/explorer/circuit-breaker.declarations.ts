import { Inject, Injectable } from '@nestjs/common';
import { INTERCEPTORS_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { CircuitBreakerConfigError, type ConfigProblem, isRecord } from '../core/index.js';
import {
  CIRCUIT_BREAKER_MODULE_OPTIONS,
  GRAPHQL_RESOLVE_PROPERTY_METADATA,
  GRAPHQL_RESOLVER_TYPE_METADATA,
  MICROSERVICE_PATTERN_METADATA,
  WS_MESSAGE_MAPPING_METADATA,
} from '../constants.js';
import { type CircuitBreakerDecoratorOptions, type CircuitBreakerLayer, getLayers } from '../decorators/layers.js';
import type { CircuitBreakerConfigEntry, ResolvedCircuitBreakerModuleOptions } from '../options/module-options.interface.js';
import { breakerNameProblems, matchingBreakerKeys, validateOptionLayer } from '../options/module-options.js';
import type { DeclaredBreakerOptions } from '../registry/circuit-breaker.registry.js';
import { CircuitBreakerInterceptor } from '../interceptors/circuit-breaker.interceptor.js';
import type { AnyFunction } from './breaker-call.js';
import { EXPLORER_EXPECTED } from './explorer.messages.js';

/** One method carrying `@CircuitBreaker` (or another wrapping layer). */
export interface DecoratedMethod {
  /** `ClassName.methodName` */
  where: string;
  className: string;
  methodName: string;
  /** the function as declared (the prototype's) */
  fn: AnyFunction;
  /** innermost first */
  layers: readonly CircuitBreakerLayer[];
  /** the breaker name of each layer (undefined for a layer that is not a breaker) */
  names: readonly (string | undefined)[];
  /**
   * `http` / `rpc` / `ws` / `graphql`: a route, message-pattern, gateway message or resolver
   * (query, mutation, field resolver) handler, which
   * `CircuitBreakerInterceptor` protects; `null`: a plain method, which the explorer wraps.
   */
  transport: 'http' | 'rpc' | 'ws' | 'graphql' | null;
}

/** A provider or controller with decorated methods. */
export interface DecoratedClass {
  wrapper: InstanceWrapper;
  className: string;
  prototype: object;
  methods: readonly DecoratedMethod[];
}

interface Declaration {
  options: CircuitBreakerConfigEntry;
  where: string;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  if (isRecord(a) && isRecord(b) && Object.getPrototypeOf(a) === Object.prototype && Object.getPrototypeOf(b) === Object.prototype) {
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    return keys.length === Object.keys(b).filter((k) => b[k] !== undefined).length && keys.every((k) => sameValue(a[k], b[k]));
  }
  return false;
}

/** Whether `CircuitBreakerInterceptor` is applied to the handler `fn` of class `type` by `@UseInterceptors`. */
function hasOwnInterceptor(type: unknown, fn: unknown): boolean {
  const applied = (target: unknown) => ((Reflect.getMetadata(INTERCEPTORS_METADATA, target as object) as unknown[] | undefined) ?? [])
    .some((i) => i === CircuitBreakerInterceptor || i instanceof CircuitBreakerInterceptor);
  return (typeof fn === 'function' && applied(fn)) || (typeof type === 'function' && applied(type));
}

/**
 * `@UseInterceptors(CircuitBreakerInterceptor)` on a handler without `@CircuitBreaker` (on the
 * method or its class): the handler gets the breaker the decorator would give it, `ClassName.methodName`.
 */
const IMPLICIT_BREAKER: readonly CircuitBreakerLayer[] = Object.freeze([{ kind: 'breaker' }]);

function transportOf(fn: AnyFunction): DecoratedMethod['transport'] {
  if (Reflect.hasMetadata(GRAPHQL_RESOLVER_TYPE_METADATA, fn) || Reflect.hasMetadata(GRAPHQL_RESOLVE_PROPERTY_METADATA, fn)) return 'graphql';
  if (Reflect.hasMetadata(MICROSERVICE_PATTERN_METADATA, fn)) return 'rpc';
  if (Reflect.hasMetadata(WS_MESSAGE_MAPPING_METADATA, fn)) return 'ws';
  if (Reflect.hasMetadata(PATH_METADATA, fn)) return 'http';
  return null;
}

/**
 * The `@CircuitBreaker` declarations of the application, read from the classes of its providers and
 * controllers before any of them is instantiated (so that a breaker injected or created early gets
 * its decorator's options). Checks them all and fails the boot listing every problem: invalid
 * options or names, a fallback that names no method, an unknown name under `strict: true`, and one
 * name given different options in two places.
 */
@Injectable()
export class CircuitBreakerDeclarations implements DeclaredBreakerOptions {
  private readonly decorated: DecoratedClass[] = [];
  private readonly declared = new Map<string, Declaration>();
  private readonly seenWrappers = new Set<InstanceWrapper>();
  private readonly methodsByPrototype = new Map<object, DecoratedMethod[]>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    @Inject(CIRCUIT_BREAKER_MODULE_OPTIONS) private readonly options: ResolvedCircuitBreakerModuleOptions,
  ) {
    this.scan();
  }

  /** Every decorated class found so far (one entry per provider or controller wrapper). */
  get classes(): readonly DecoratedClass[] {
    return this.decorated;
  }

  optionsFor(name: string): CircuitBreakerConfigEntry | undefined {
    return this.declared.get(name)?.options;
  }

  /** Every breaker name that a decorated method uses, with the first method naming it (`Class.method`). */
  declaredNames(): ReadonlyMap<string, string> {
    const names = new Map<string, string>();
    for (const { methods } of this.decorated) {
      for (const method of methods) for (const name of method.names) if (name !== undefined && !names.has(name)) names.set(name, method.where);
    }
    return names;
  }

  /**
   * Reads every wrapper not read yet: classes at construction, and at bootstrap the instances that
   * only then exist (factory providers). Throws `CircuitBreakerConfigError` for what it finds wrong.
   */
  scan(): void {
    const problems: ConfigProblem[] = [];
    for (const wrapper of [...this.discovery.getControllers(), ...this.discovery.getProviders()]) {
      if (this.seenWrappers.has(wrapper)) continue;
      const found = this.prototypeOf(wrapper);
      if (found === undefined) continue;
      this.seenWrappers.add(wrapper);
      const [prototype, className] = found;
      let methods = this.methodsByPrototype.get(prototype);
      if (methods === undefined) {
        methods = this.readMethods(prototype, className, problems);
        this.methodsByPrototype.set(prototype, methods);
      }
      if (methods.length > 0) this.decorated.push({ wrapper, className, prototype, methods });
    }
    if (problems.length > 0) throw new CircuitBreakerConfigError(problems);
  }

  /** A class provider's or controller's prototype, or an existing instance's; undefined until known. */
  private prototypeOf(wrapper: InstanceWrapper): [object, string] | undefined {
    if (wrapper.isAlias) return undefined; // `useExisting`: the provider it names is read itself
    const metatype = wrapper.metatype as unknown;
    if (typeof metatype === 'function' && !wrapper.isFactory && typeof (metatype as { prototype?: unknown }).prototype === 'object') {
      return [(metatype as { prototype: object }).prototype, (metatype as { name: string }).name];
    }
    const instance: unknown = wrapper.instance;
    if (!isRecord(instance) || (wrapper.isFactory && !wrapper.isDependencyTreeStatic())) return undefined;
    const prototype = Object.getPrototypeOf(instance) as object | null;
    if (prototype === null || prototype === Object.prototype) return undefined;
    return [prototype, (instance.constructor as { name?: string } | undefined)?.name ?? 'Object'];
  }

  private readMethods(prototype: object, className: string, problems: ConfigProblem[]): DecoratedMethod[] {
    const methods: DecoratedMethod[] = [];
    for (const methodName of this.scanner.getAllMethodNames(prototype)) {
      const fn = (prototype as Record<string, unknown>)[methodName];
      let layers = getLayers(fn);
      if (layers.length === 0) {
        if (typeof fn !== 'function' || transportOf(fn as AnyFunction) === null || !hasOwnInterceptor(prototype.constructor, fn)) continue;
        layers = IMPLICIT_BREAKER;
      }
      const where = `${className}.${methodName}`;
      const names = layers.map((layer) => (layer.kind === 'breaker' ? (layer.name ?? where) : undefined));
      layers.forEach((layer, i) => {
        if (layer.kind === 'breaker') this.declare(names[i]!, layer.options, where, prototype, className, problems);
      });
      methods.push({ where, className, methodName, fn: fn as AnyFunction, layers, names, transport: transportOf(fn as AnyFunction) });
    }
    return methods;
  }

  private declare(
    name: string,
    options: CircuitBreakerDecoratorOptions | undefined,
    where: string,
    prototype: object,
    className: string,
    problems: ConfigProblem[],
  ): void {
    const site = `${where} @CircuitBreaker`;
    const { fallback, extends: base, ...own }: Record<string, unknown> = { ...options };
    problems.push(...breakerNameProblems(name, `${site}('${name}')`));
    problems.push(...validateOptionLayer(own, site));
    const configNames = Object.keys(this.options.configs);
    if (base !== undefined && (typeof base !== 'string' || !configNames.includes(base))) {
      problems.push({ path: `${site}.extends`, expected: EXPLORER_EXPECTED.extendsName(configNames), value: base });
    }
    if (fallback !== undefined && typeof fallback !== 'function') {
      if (typeof fallback !== 'string') problems.push({ path: `${site}.fallback`, expected: EXPLORER_EXPECTED.fallback, value: fallback });
      else if (typeof (prototype as Record<string, unknown>)[fallback] !== 'function') {
        problems.push({ path: `${site}.fallback`, expected: EXPLORER_EXPECTED.fallbackMethod(className), value: fallback });
      }
    }
    if (this.options.strict && matchingBreakerKeys(this.options.breakers, name).length === 0) {
      problems.push({ path: `${site}('${name}')`, expected: EXPLORER_EXPECTED.strictName(Object.keys(this.options.breakers)), value: name });
    }
    // A method that only names the breaker (no options besides its fallback) shares it as configured.
    const declared: CircuitBreakerConfigEntry = base === undefined ? own : { ...own, extends: base as string };
    if (Object.values(declared).every((v) => v === undefined)) return;
    const earlier = this.declared.get(name);
    if (earlier === undefined) this.declared.set(name, { options: declared, where });
    else if (earlier.where !== where && !sameValue(earlier.options, declared)) {
      problems.push({ path: `@CircuitBreaker('${name}')`, expected: EXPLORER_EXPECTED.sameOptions(earlier.where, where, name), value: declared });
    }
  }
}
