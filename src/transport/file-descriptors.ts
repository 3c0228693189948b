/**
 * FileDescriptorProtos as protoc writes them, built from .proto files, for server reflection.
 *
 * proto-loader's descriptors (protobufjs's `toDescriptor`) merge each package into one file
 * (`inference.proto`), name map entry types after the field (`Parameters`, not `ParametersEntry`),
 * and write type names relative to their scope. Go's protodesc, behind grpcurl and ghz, refuses
 * the map entries. Here every file keeps its own name, each map field gets its nested
 * `<CamelName>Entry` type, every type name is fully qualified, fields carry protoc's json_name
 * (JSON clients print by it), and each file's dependencies are the files its references land in. Only the proto3 features the served files use are written;
 * the others stop the server at start rather than be described wrongly.
 */
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import {
  FileDescriptorProto,
  type IDescriptorProto,
  type IEnumDescriptorProto,
  type IFieldDescriptorProto,
  type IFileDescriptorProto,
  type IServiceDescriptorProto,
} from 'protobufjs/ext/descriptor';

/** FieldDescriptorProto.Label and .Type numbers (descriptor.proto). */
const LABEL_OPTIONAL = 1;
const LABEL_REPEATED = 3;
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const SCALAR_TYPES: Readonly<Record<string, number>> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};

/**
 * The encoded descriptors of `files` (paths relative to `includeDir`) and of every file they
 * import, each named by its path relative to `includeDir`, as imports name it.
 */
export function fileDescriptorProtos(includeDir: string, files: readonly string[]): Buffer[] {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => path.join(includeDir, target);
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  const nameOf = (object: protobuf.ReflectionObject): string => {
    if (object.filename === null) throw new Error(`${object.fullName} was not read from a file`);
    return path.relative(includeDir, object.filename).split(path.sep).join('/');
  };
  const byFile = new Map<string, FileBuilder>();
  for (const declaration of topLevelDeclarations(root)) {
    const name = nameOf(declaration);
    const file = byFile.get(name) ?? new FileBuilder(name, declaration.parent?.fullName.slice(1) ?? '', nameOf);
    byFile.set(name, file);
    file.add(declaration);
  }
  return [...byFile.values()].map((file) => Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(file.descriptor())).finish()));
}

type Declaration = protobuf.Type | protobuf.Enum | protobuf.Service;

function* topLevelDeclarations(namespace: protobuf.NamespaceBase): Generator<Declaration> {
  for (const nested of namespace.nestedArray) {
    // Type and Service are namespaces too: test them first.
    if (nested instanceof protobuf.Type || nested instanceof protobuf.Enum || nested instanceof protobuf.Service) yield nested;
    else if (nested instanceof protobuf.Namespace) yield* topLevelDeclarations(nested);
    else throw new Error(`${nested.fullName}: only messages, enums and services are described (no extensions)`);
  }
}

/** One file's descriptor, collecting the files that its references land in. */
class FileBuilder {
  private readonly messageType: IDescriptorProto[] = [];
  private readonly enumType: IEnumDescriptorProto[] = [];
  private readonly service: IServiceDescriptorProto[] = [];
  private readonly dependencies = new Set<string>();

  constructor(
    private readonly name: string,
    private readonly packageName: string,
    private readonly nameOf: (object: protobuf.ReflectionObject) => string,
  ) {}

  add(declaration: Declaration): void {
    if (declaration instanceof protobuf.Type) this.messageType.push(this.message(declaration));
    else if (declaration instanceof protobuf.Enum) this.enumType.push(enumDescriptor(declaration));
    else this.service.push(this.serviceDescriptor(declaration));
  }

  descriptor(): IFileDescriptorProto {
    const { name, messageType, enumType, service } = this;
    return { name, package: this.packageName || undefined, dependency: [...this.dependencies], messageType, enumType, service, syntax: 'proto3' };
  }

  private message(type: protobuf.Type): IDescriptorProto {
    const nestedType: IDescriptorProto[] = [];
    const enumType: IEnumDescriptorProto[] = [];
    const field = type.fieldsArray.map((member) => {
      if (!(member instanceof protobuf.MapField)) return this.field(type, member);
      const entry = this.mapEntry(member);
      nestedType.push(entry);
      return { name: member.name, number: member.id, label: LABEL_REPEATED, type: TYPE_MESSAGE, typeName: `${type.fullName}.${entry.name}`, jsonName: jsonName(member.name) };
    });
    for (const nested of type.nestedArray) {
      if (nested instanceof protobuf.Type) nestedType.push(this.message(nested));
      else if (nested instanceof protobuf.Enum) enumType.push(enumDescriptor(nested));
      else throw new Error(`${nested.fullName}: only messages and enums are described inside a message`);
    }
    return { name: type.name, field, nestedType, enumType, oneofDecl: type.oneofsArray.map((oneof) => ({ name: oneof.name })) };
  }

  /** A map field is a repeated field of this nested message, which protoc names and shapes so. */
  private mapEntry(field: protobuf.MapField): IDescriptorProto {
    return {
      name: mapEntryName(field.name),
      field: [
        { name: 'key', number: 1, label: LABEL_OPTIONAL, type: scalarType(field, field.keyType), jsonName: 'key' },
        { name: 'value', number: 2, label: LABEL_OPTIONAL, ...this.valueType(field), jsonName: 'value' },
      ],
      options: { mapEntry: true },
    };
  }

  private field(type: protobuf.Type, field: protobuf.Field): IFieldDescriptorProto {
    // proto2 and proto3 `optional` would need syntax and synthetic oneofs this does not write.
    if (field.required || field.delimited || field.extend !== undefined || field.options?.proto3_optional === true) {
      throw new Error(`${field.fullName}: required, group, extension and proto3 optional fields are not described`);
    }
    const oneofIndex = field.partOf === null ? undefined : type.oneofsArray.indexOf(field.partOf);
    const label = field.repeated ? LABEL_REPEATED : LABEL_OPTIONAL;
    return { name: field.name, number: field.id, label, ...this.valueType(field), oneofIndex, jsonName: jsonName(field.name) };
  }

  /** A field's (or map value's) type: a scalar, or the fully qualified message or enum. */
  private valueType(field: protobuf.FieldBase): Pick<IFieldDescriptorProto, 'type' | 'typeName'> {
    const resolved = field.resolvedType;
    if (resolved === null) return { type: scalarType(field, field.type) };
    this.reference(resolved);
    return { type: resolved instanceof protobuf.Enum ? TYPE_ENUM : TYPE_MESSAGE, typeName: resolved.fullName };
  }

  private serviceDescriptor(service: protobuf.Service): IServiceDescriptorProto {
    const method = service.methodsArray.map((m) => {
      const [input, output] = [m.resolvedRequestType, m.resolvedResponseType];
      if (input === null || output === null) throw new Error(`${m.fullName}: unresolved request or response type`);
      this.reference(input);
      this.reference(output);
      return { name: m.name, inputType: input.fullName, outputType: output.fullName, clientStreaming: m.requestStream === true, serverStreaming: m.responseStream === true };
    });
    return { name: service.name, method };
  }

  private reference(target: protobuf.ReflectionObject): void {
    const file = this.nameOf(target);
    if (file !== this.name) this.dependencies.add(file);
  }
}

function enumDescriptor(e: protobuf.Enum): IEnumDescriptorProto {
  return { name: e.name, value: Object.entries(e.values).map(([name, number]) => ({ name, number })) };
}

function scalarType(field: protobuf.FieldBase, name: string): number {
  const type = SCALAR_TYPES[name];
  if (type === undefined) throw new Error(`${field.fullName}: unknown type ${name}`);
  return type;
}

/** protoc's name for a map field's entry type: `response_stats` → `ResponseStatsEntry`. */
function mapEntryName(fieldName: string): string {
  return `${fieldName.split('_').map(capitalize).join('')}Entry`;
}

/** protoc's json_name, which JSON clients print fields by: `raw_input_contents` → `rawInputContents`. */
function jsonName(fieldName: string): string {
  const [first, ...rest] = fieldName.split('_');
  return first + rest.map(capitalize).join('');
}

const capitalize = (word: string): string => word.charAt(0).toUpperCase() + word.slice(1);
