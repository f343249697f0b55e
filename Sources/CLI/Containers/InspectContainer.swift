import ArgumentParser
import Engine
import OCI
import OS
import Template

struct InspectContainer: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show containers as Docker-shaped JSON (or images, with `image inspect`).")
    @OptionGroup var s: StoreOptions
    @Option(name: [.short, .long], help: "A template such as '{{.State.Health.Status}}' or '{{json .State}}'.") var format: String?
    @Argument(help: "Containers (name or ID).") var containers: [String]

    struct StateOut: Encodable {
        var Status: ContainerStatus, Running: Bool, Paused: Bool, Restarting: Bool, OOMKilled: Bool, Dead: Bool
        var Pid: Int32, ExitCode: Int32, Error: String, StartedAt: String, FinishedAt: String
        var Health: HealthState?
    }

    struct Out: Encodable {
        var Id: String, Created: String, Path: String, Args: [String]
        var State: StateOut
        var Image: String, ResolvConfPath: String, HostnamePath: String, HostsPath: String, LogPath: String
        var Name: String, RestartCount: Int, Driver: String, Platform: String
        var MountLabel: String, ProcessLabel: String, AppArmorProfile: String
        var HostConfig: Container.HostConfig
        var Mounts: [MountPointView]
        var Config: Container.Config
        var NetworkSettings: NetworkSettings
    }

    func run() throws {
        try containerCommand {
            let engine = try s.engine()
            let t = try format.map { try Template($0) }
            var values: [JSONValue] = []
            for ref in containers {
                let v = try engine.view(try engine.resolve(ref))
                let c = v.container, st = v.state
                let out = Out(Id: c.Id, Created: c.Created, Path: c.Path, Args: c.Args,
                              State: StateOut(Status: st.Status, Running: st.Running, Paused: st.Paused, Restarting: st.Restarting,
                                              OOMKilled: st.OOMKilled, Dead: st.Dead, Pid: st.Pid, ExitCode: st.ExitCode,
                                              Error: st.Error, StartedAt: st.StartedAt, FinishedAt: st.FinishedAt, Health: st.Health),
                              Image: c.ImageID, ResolvConfPath: engine.networkFilePaths(c).resolv, HostnamePath: engine.networkFilePaths(c).hostname,
                              HostsPath: engine.networkFilePaths(c).hosts, LogPath: engine.logPath(c.Id),
                              Name: "/" + c.Name, RestartCount: st.RestartCount, Driver: "overlay", Platform: "linux",
                              MountLabel: "", ProcessLabel: "", AppArmorProfile: "", HostConfig: c.HostConfig, Mounts: engine.mountViews(c),
                              Config: c.Config, NetworkSettings: engine.networkSettings(v))
                values.append(try JSON.tree(out))
            }
            if let t {
                for v in values { stdoutWrite(try t.render(v) + "\n") }
            } else {
                stdoutWrite(try JSON.string(values, pretty: true) + "\n")
            }
        }
    }
}
