import { describe, expect, it } from '@jest/globals';
import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';

@Injectable()
class S { hello() { return 'hi'; } }
@Module({ providers: [S] })
class M {}

describe('toolchain', () => {
  it('boots nest', async () => {
    const mod = await Test.createTestingModule({ imports: [M] }).compile();
    expect(mod.get(S).hello()).toBe('hi');
  });
});
