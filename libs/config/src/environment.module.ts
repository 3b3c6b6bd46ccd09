import { DynamicModule, Global, Module } from '@nestjs/common';
import { Environment } from './environment';

/** Makes the validated `Environment` injectable everywhere: `constructor(private readonly env: Environment)`. */
@Global()
@Module({})
export class EnvironmentModule {
  static forRoot(env: Environment): DynamicModule {
    return { module: EnvironmentModule, providers: [{ provide: Environment, useValue: env }], exports: [Environment] };
  }
}
