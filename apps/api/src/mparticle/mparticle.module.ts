import { Module } from '@nestjs/common';
import { MparticleController } from './mparticle.controller';
import { MparticleService } from './mparticle.service';

@Module({ controllers: [MparticleController], providers: [MparticleService] })
export class MparticleModule {}
