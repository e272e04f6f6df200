"""One macro that turns .proto files into a C++ library with the system protoc and grpc_cpp_plugin.

Paths inside protos/ are the import paths (`import "marketlens/api/http.proto";`), and generated headers
are included the same way (`#include "marketlens/marketplace/v1/marketplace.grpc.pb.h"`).
"""

def cc_grpc_proto(name, srcs, deps = [], grpc = True, visibility = None):
    """Generates <name> (a cc_library) and <name>_protos (the .proto files, for dependants).

    Args:
      name: the cc_library's name.
      srcs: .proto files in this package, relative to it.
      deps: other cc_grpc_proto targets whose protos these import.
      grpc: also generate gRPC service stubs.
      visibility: as usual.
    """
    native.filegroup(
        name = name + "_protos",
        srcs = srcs + [d + "_protos" for d in deps],
        visibility = visibility,
    )
    outs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
    pkg = native.package_name()
    grpc_flags = "--plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin --grpc_out=$(GENDIR)/%s " % pkg if grpc else ""
    native.genrule(
        name = name + "_gen",
        srcs = [name + "_protos"],
        outs = outs,
        cmd = ("/usr/bin/protoc -I%s --cpp_out=$(GENDIR)/%s " % (pkg, pkg)) + grpc_flags +
              " ".join(["%s/%s" % (pkg, s) for s in srcs]),
        message = "protoc " + name,
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + ["//third_party:protobuf"] + (["//third_party:grpc++"] if grpc else []),
        visibility = visibility,
    )

def proto_descriptor_set(name, protos, out, visibility = None):
    """A FileDescriptorSet (with imports) of the given cc_grpc_proto targets, loadable at run time."""
    pkg = native.package_name()
    native.genrule(
        name = name,
        srcs = [p + "_protos" for p in protos],
        outs = [out],
        cmd = ("/usr/bin/protoc -I%s --include_imports --descriptor_set_out=$@ " % pkg) +
              "$$(echo $(SRCS) | tr ' ' '\\n' | sort -u)",
        visibility = visibility,
    )
