import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { CIRCUIT_BREAKER_LAYERS } from '../constants.js';
import { Retry } from './retry.decorator.js';

/** Stands in for another wrapping decorator (e.g. `@CircuitBreaker`) following the same contract. */
function OtherLayer(tag: string): MethodDecorator {
  return (_target, _key, descriptor) => {
    const layers: unknown[] = Reflect.getMetadata(CIRCUIT_BREAKER_LAYERS, descriptor.value as object) ?? [];
    Reflect.defineMetadata(CIRCUIT_BREAKER_LAYERS, [...layers, { kind: 'other', tag }], descriptor.value as object);
  };
}

const layersOf = (fn: unknown) => Reflect.getMetadata(CIRCUIT_BREAKER_LAYERS, fn as object) as unknown[];

describe('@Retry', () => {
  it('stores a retry layer on the method and leaves the method itself alone', () => {
    const options = { maxAttempts: 4, baseDelayMs: 50 };
    class Inventory {
      reserve(sku: string) {
        return `reserved ${sku}`;
      }
    }
    const original = Inventory.prototype.reserve;
    const descriptor = Object.getOwnPropertyDescriptor(Inventory.prototype, 'reserve')!;
    Retry(options)(Inventory.prototype, 'reserve', descriptor);
    expect(descriptor.value).toBe(original);
    expect(layersOf(original)).toEqual([{ kind: 'retry', options }]);
    expect(new Inventory().reserve('a')).toBe('reserved a');
  });

  it('defaults to empty options (every default applies at bootstrap)', () => {
    class Svc {
      @Retry()
      run() {}
    }
    expect(layersOf(Svc.prototype.run)).toEqual([{ kind: 'retry', options: {} }]);
  });

  it('decorators apply bottom-up: index 0 is the innermost layer', () => {
    class Svc {
      @OtherLayer('outer')
      @Retry({ maxAttempts: 2 })
      breakerAbove() {}

      @Retry({ maxAttempts: 5 })
      @OtherLayer('inner')
      breakerBelow() {}
    }
    expect(layersOf(Svc.prototype.breakerAbove)).toEqual([
      { kind: 'retry', options: { maxAttempts: 2 } },
      { kind: 'other', tag: 'outer' },
    ]);
    expect(layersOf(Svc.prototype.breakerBelow)).toEqual([
      { kind: 'other', tag: 'inner' },
      { kind: 'retry', options: { maxAttempts: 5 } },
    ]);
  });

  it('copies the existing layer array instead of changing it', () => {
    function method() {}
    const before = [{ kind: 'other', tag: 'x' }];
    Reflect.defineMetadata(CIRCUIT_BREAKER_LAYERS, before, method);
    const descriptor: PropertyDescriptor = { value: method, writable: true, configurable: true };
    Retry({ maxAttempts: 2 })({}, 'method', descriptor);
    expect(before).toEqual([{ kind: 'other', tag: 'x' }]);
    expect(layersOf(method)).toHaveLength(2);
  });

  it('refuses anything but a method, naming it', () => {
    class Svc {
      get value() {
        return 1;
      }
    }
    const descriptor = Object.getOwnPropertyDescriptor(Svc.prototype, 'value')!;
    expect(() => Retry()(Svc.prototype, 'value', descriptor)).toThrow('@Retry() decorates methods only; Svc.value is not a method');
  });
});
