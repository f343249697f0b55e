import ArgumentParser
import OCI
import Runtime

struct OCIFeatures: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "features", abstract: "Print what this runtime supports (runtime-spec features.json).")
    @OptionGroup var g: GlobalOptions

    struct Features: Encodable {
        var ociVersionMin = "1.0.0"
        var ociVersionMax = Spec.version
        var hooks = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]
        var mountOptions = ["ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "noatime", "relatime",
                            "strictatime", "nodiratime", "bind", "rbind", "private", "rprivate", "shared", "rshared",
                            "slave", "rslave", "unbindable", "runbindable"]
        var linux = Linux()
        struct Linux: Encodable {
            var namespaces = ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]
            var capabilities: [String] = []
            var cgroup = ["v1": false, "v2": true, "systemd": false, "systemdUser": false]
            var seccomp = Seccomp()
            struct Seccomp: Encodable {
                var enabled = true
                var actions = ["SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
                               "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRACE", "SCMP_ACT_TRAP"]
                var operators = ["SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
                                 "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"]
                var archs = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"]
            }
        }
    }

    func run() throws {
        try perform(g) {
            var f = Features()
            f.linux.capabilities = DefaultSpec.allCapabilities
            stdoutWrite(try JSON.string(f, pretty: true) + "\n")
        }
    }
}
