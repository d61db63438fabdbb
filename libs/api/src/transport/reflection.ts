import { toBinary, type DescEnum, type DescExtension, type DescFile, type DescMessage, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code, type ServiceImpl } from '@connectrpc/connect';
import { ServerReflection as ServerReflectionV1 } from './gen/grpc/reflection/v1/reflection_pb.js';
import { ServerReflection as ServerReflectionV1alpha } from './gen/grpc/reflection/v1alpha/reflection_pb.js';

export { ServerReflectionV1, ServerReflectionV1alpha };

/** A reflection request, the same in v1 and v1alpha. */
type Question =
  | { case: 'fileByFilename'; value: string }
  | { case: 'fileContainingSymbol'; value: string }
  | { case: 'fileContainingExtension'; value: { containingType: string; extensionNumber: number } }
  | { case: 'allExtensionNumbersOfType'; value: string }
  | { case: 'listServices'; value: string }
  | { case: undefined; value?: undefined };

/** A reflection answer, the same in v1 and v1alpha. */
type Answer =
  | { case: 'fileDescriptorResponse'; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: 'allExtensionNumbersResponse'; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: 'listServicesResponse'; value: { service: { name: string }[] } }
  | { case: 'errorResponse'; value: { errorCode: number; errorMessage: string } };

/**
 * What the reflection services know: the services listed and every file they need, found by
 * file name, by symbol and by extension. Built once from the descriptors the server serves,
 * so a service added to what is served is described without anything else to change.
 */
export class ReflectionIndex {
  readonly serviceNames: string[];
  private readonly byName = new Map<string, DescFile>();
  private readonly bySymbol = new Map<string, DescFile>();
  private readonly extensions = new Map<string, Map<number, DescFile>>();
  private readonly serialized = new Map<DescFile, Uint8Array>();

  constructor(services: readonly DescService[]) {
    this.serviceNames = services.map((s) => s.typeName);
    const visit = (file: DescFile) => {
      if (this.byName.has(file.proto.name)) return;
      this.byName.set(file.proto.name, file);
      this.indexFile(file);
      file.dependencies.forEach(visit);
    };
    services.forEach((s) => visit(s.file));
  }

  private indexFile(file: DescFile) {
    const symbol = (name: string) => this.bySymbol.set(name, file);
    const extension = (ext: DescExtension) => {
      symbol(ext.typeName);
      let numbers = this.extensions.get(ext.extendee.typeName);
      if (!numbers) this.extensions.set(ext.extendee.typeName, (numbers = new Map()));
      numbers.set(ext.number, file);
    };
    const enumeration = (e: DescEnum) => symbol(e.typeName);
    const message = (m: DescMessage) => {
      symbol(m.typeName);
      for (const f of m.fields) symbol(`${m.typeName}.${f.name}`);
      for (const o of m.oneofs) symbol(`${m.typeName}.${o.name}`);
      m.nestedMessages.forEach(message);
      m.nestedEnums.forEach(enumeration);
      m.nestedExtensions.forEach(extension);
    };
    file.messages.forEach(message);
    file.enums.forEach(enumeration);
    file.extensions.forEach(extension);
    for (const s of file.services) {
      symbol(s.typeName);
      for (const m of s.methods) symbol(`${s.typeName}.${m.name}`);
    }
  }

  /**
   * Answers one request. `sent` is what this stream has already received: a file is always
   * sent when asked for, its dependencies only once per stream (as the protocol allows), so a
   * client resolving one service after another does not receive the same imports again.
   */
  answer(question: Question, sent: Set<DescFile>): Answer {
    switch (question.case) {
      case 'listServices':
        return { case: 'listServicesResponse', value: { service: this.serviceNames.map((name) => ({ name })) } };
      case 'fileByFilename':
        return this.files(this.byName.get(question.value), sent, `file not found: ${question.value}`);
      case 'fileContainingSymbol':
        return this.files(this.bySymbol.get(question.value), sent, `symbol not found: ${question.value}`);
      case 'fileContainingExtension': {
        const { containingType, extensionNumber } = question.value;
        return this.files(
          this.extensions.get(containingType)?.get(extensionNumber),
          sent,
          `extension not found: ${containingType} ${extensionNumber}`,
        );
      }
      case 'allExtensionNumbersOfType': {
        const type = question.value;
        if (!this.bySymbol.has(type)) return error(Code.NotFound, `type not found: ${type}`);
        const numbers = [...(this.extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b);
        return { case: 'allExtensionNumbersResponse', value: { baseTypeName: type, extensionNumber: numbers } };
      }
      default:
        return error(Code.InvalidArgument, 'no request in the message');
    }
  }

  private files(file: DescFile | undefined, sent: Set<DescFile>, notFound: string): Answer {
    if (!file) return error(Code.NotFound, notFound);
    const out: DescFile[] = [file];
    sent.add(file);
    const visit = (f: DescFile) => {
      for (const dep of f.dependencies) {
        if (sent.has(dep)) continue;
        sent.add(dep);
        out.push(dep);
        visit(dep);
      }
    };
    visit(file);
    return { case: 'fileDescriptorResponse', value: { fileDescriptorProto: out.map((f) => this.bytes(f)) } };
  }

  private bytes(file: DescFile): Uint8Array {
    let bytes = this.serialized.get(file);
    if (!bytes) this.serialized.set(file, (bytes = toBinary(FileDescriptorProtoSchema, file.proto)));
    return bytes;
  }
}

function error(code: Code, message: string): Answer {
  return { case: 'errorResponse', value: { errorCode: code, errorMessage: message } };
}

/** grpc.reflection.v1.ServerReflection: one answer per request, in order, on one stream. */
export function reflectionV1(index: ReflectionIndex): ServiceImpl<typeof ServerReflectionV1> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<DescFile>();
      for await (const request of requests) {
        yield { originalRequest: request, messageResponse: index.answer(request.messageRequest, sent) };
      }
    },
  };
}

/** grpc.reflection.v1alpha.ServerReflection: the same protocol under its older name, which older clients ask for. */
export function reflectionV1alpha(index: ReflectionIndex): ServiceImpl<typeof ServerReflectionV1alpha> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<DescFile>();
      for await (const request of requests) {
        yield { originalRequest: request, messageResponse: index.answer(request.messageRequest, sent) };
      }
    },
  };
}
