import Foundation
import Testing
@testable import MachineCore

@Suite("berth env and berth config output")
struct ShellEnvironmentTests {
    let environment = DockerEnvironment(
        machineName: "dev",
        dockerHost: "tcp://192.168.122.10:2376",
        certPath: "/root/.berth/machines/dev")

    @Test("bash")
    func bash() {
        #expect(environment.render(for: .bash) == """
            export DOCKER_TLS_VERIFY="1"
            export DOCKER_HOST="tcp://192.168.122.10:2376"
            export DOCKER_CERT_PATH="/root/.berth/machines/dev"
            export DOCKER_MACHINE_NAME="dev"
            # Run this command to configure your shell: 
            # eval $(berth env dev)

            """)
    }

    @Test("zsh uses bash's syntax")
    func zsh() {
        #expect(environment.render(for: .zsh) == environment.render(for: .bash))
    }

    @Test("fish")
    func fish() {
        #expect(environment.render(for: .fish) == """
            set -gx DOCKER_TLS_VERIFY "1";
            set -gx DOCKER_HOST "tcp://192.168.122.10:2376";
            set -gx DOCKER_CERT_PATH "/root/.berth/machines/dev";
            set -gx DOCKER_MACHINE_NAME "dev";
            # Run this command to configure your shell: 
            # eval (berth env dev)

            """)
    }

    @Test("powershell")
    func powershell() {
        #expect(environment.render(for: .powershell) == """
            $Env:DOCKER_TLS_VERIFY = "1"
            $Env:DOCKER_HOST = "tcp://192.168.122.10:2376"
            $Env:DOCKER_CERT_PATH = "/root/.berth/machines/dev"
            $Env:DOCKER_MACHINE_NAME = "dev"
            # Run this command to configure your shell: 
            # & berth env dev | Invoke-Expression

            """)
    }

    @Test("cmd")
    func cmd() {
        #expect(environment.render(for: .cmd) == """
            SET DOCKER_TLS_VERIFY=1
            SET DOCKER_HOST=tcp://192.168.122.10:2376
            SET DOCKER_CERT_PATH=/root/.berth/machines/dev
            SET DOCKER_MACHINE_NAME=dev
            REM Run this command to configure your shell: 
            REM \t@FOR /f "tokens=*" %i IN ('berth env dev') DO @%i

            """)
    }

    @Test("tcsh")
    func tcsh() {
        #expect(environment.render(for: .tcsh) == """
            setenv DOCKER_TLS_VERIFY "1";
            setenv DOCKER_HOST "tcp://192.168.122.10:2376";
            setenv DOCKER_CERT_PATH "/root/.berth/machines/dev";
            setenv DOCKER_MACHINE_NAME "dev";
            : Run this command to configure your shell: 
            : eval `berth env dev`

            """)
    }

    @Test("emacs")
    func emacs() {
        #expect(environment.render(for: .emacs) == """
            (setenv "DOCKER_TLS_VERIFY" "1")
            (setenv "DOCKER_HOST" "tcp://192.168.122.10:2376")
            (setenv "DOCKER_CERT_PATH" "/root/.berth/machines/dev")
            (setenv "DOCKER_MACHINE_NAME" "dev")
            ;; Run this command to configure your shell: 
            ;; (with-temp-buffer (shell-command "berth env dev" (current-buffer)) (eval-buffer))

            """)
    }

    @Test("the hint shows the command it is given")
    func customHint() {
        let output = environment.render(for: .bash, command: "berth env --shell bash dev")
        #expect(output.hasSuffix("# eval $(berth env --shell bash dev)\n"))
    }

    @Test("unset, every shell", arguments: [
        (ShellKind.bash, """
            unset DOCKER_TLS_VERIFY
            unset DOCKER_HOST
            unset DOCKER_CERT_PATH
            unset DOCKER_MACHINE_NAME
            # Run this command to configure your shell: 
            # eval $(berth env --unset)

            """),
        (ShellKind.zsh, """
            unset DOCKER_TLS_VERIFY
            unset DOCKER_HOST
            unset DOCKER_CERT_PATH
            unset DOCKER_MACHINE_NAME
            # Run this command to configure your shell: 
            # eval $(berth env --unset)

            """),
        (ShellKind.fish, """
            set -e DOCKER_TLS_VERIFY;
            set -e DOCKER_HOST;
            set -e DOCKER_CERT_PATH;
            set -e DOCKER_MACHINE_NAME;
            # Run this command to configure your shell: 
            # eval (berth env --unset)

            """),
        (ShellKind.powershell, #"""
            Remove-Item Env:\\DOCKER_TLS_VERIFY
            Remove-Item Env:\\DOCKER_HOST
            Remove-Item Env:\\DOCKER_CERT_PATH
            Remove-Item Env:\\DOCKER_MACHINE_NAME
            # Run this command to configure your shell: 
            # & berth env --unset | Invoke-Expression

            """#),
        (ShellKind.cmd, """
            SET DOCKER_TLS_VERIFY=
            SET DOCKER_HOST=
            SET DOCKER_CERT_PATH=
            SET DOCKER_MACHINE_NAME=
            REM Run this command to configure your shell: 
            REM \t@FOR /f "tokens=*" %i IN ('berth env --unset') DO @%i

            """),
        (ShellKind.tcsh, """
            unsetenv DOCKER_TLS_VERIFY;
            unsetenv DOCKER_HOST;
            unsetenv DOCKER_CERT_PATH;
            unsetenv DOCKER_MACHINE_NAME;
            : Run this command to configure your shell: 
            : eval `berth env --unset`

            """),
        (ShellKind.emacs, """
            (setenv "DOCKER_TLS_VERIFY" nil)
            (setenv "DOCKER_HOST" nil)
            (setenv "DOCKER_CERT_PATH" nil)
            (setenv "DOCKER_MACHINE_NAME" nil)
            ;; Run this command to configure your shell: 
            ;; (with-temp-buffer (shell-command "berth env --unset" (current-buffer)) (eval-buffer))

            """),
    ])
    func unset(shell: ShellKind, expected: String) {
        #expect(DockerEnvironment.renderUnset(for: shell) == expected)
    }

    @Test("unset with --no-proxy removes both proxy variables")
    func unsetNoProxy() {
        let output = DockerEnvironment.renderUnset(for: .fish, noProxy: true)
        #expect(output.contains("set -e NO_PROXY;\nset -e no_proxy;\n"))
        #expect(!DockerEnvironment.renderUnset(for: .fish).contains("NO_PROXY"))
    }

    @Test("--no-proxy starts a list when there is none")
    func noProxyFresh() {
        var env = environment
        env.addNoProxy(ip: "192.168.122.10", environment: [:])
        #expect(env.noProxy == "192.168.122.10")
        let output = env.render(for: .bash)
        #expect(output.contains("""
            export DOCKER_MACHINE_NAME="dev"
            export NO_PROXY="192.168.122.10"
            export no_proxy="192.168.122.10"
            # Run this command
            """))
    }

    @Test("--no-proxy keeps existing entries of both variables and adds the IP once")
    func noProxyMerge() {
        var env = environment
        env.addNoProxy(ip: "192.168.122.10", environment: [
            "NO_PROXY": "localhost, .corp.example",
            "no_proxy": "localhost,10.0.0.0/8,",
        ])
        #expect(env.noProxy == "localhost,.corp.example,10.0.0.0/8,192.168.122.10")
    }

    @Test("--no-proxy does not add an IP that is already listed, nor mistake a longer one for it")
    func noProxyDuplicates() {
        #expect(NoProxy.adding("10.0.0.1", to: NoProxy.existing(in: ["NO_PROXY": "example.com,10.0.0.1"]))
            == "example.com,10.0.0.1")
        #expect(NoProxy.adding("10.0.0.1", to: NoProxy.existing(in: ["no_proxy": "10.0.0.10"]))
            == "10.0.0.10,10.0.0.1")
    }

    @Test("shell detection from $SHELL")
    func detection() {
        #expect(ShellKind.detect(environment: ["SHELL": "/usr/bin/fish"]) == .fish)
        #expect(ShellKind.detect(environment: ["SHELL": "/bin/zsh"]) == .zsh)
        #expect(ShellKind.detect(environment: ["SHELL": "/bin/tcsh"]) == .tcsh)
        #expect(ShellKind.detect(environment: ["SHELL": "/opt/microsoft/powershell/7/pwsh"]) == .powershell)
        #expect(ShellKind.detect(environment: ["SHELL": "/bin/dash"]) == .bash)
        #expect(ShellKind.detect(environment: ["SHELL": "/usr/bin/nushell"]) == .bash)
        #expect(ShellKind.detect(environment: [:]) == .bash)
        #expect(ShellKind(name: "cmd") == .cmd)
        #expect(ShellKind(name: "emacs") == .emacs)
        #expect(ShellKind(name: "elvish") == nil)
    }

    @Test("DOCKER_HOST puts IPv6 addresses in brackets")
    func ipv6Host() {
        #expect(DockerEnvironment.dockerHost(ip: "192.168.122.10") == "tcp://192.168.122.10:2376")
        #expect(DockerEnvironment.dockerHost(ip: "fd00::10") == "tcp://[fd00::10]:2376")
        let env = DockerEnvironment(machineName: "m", ip: "10.1.2.3", machineDirectory: URL(fileURLWithPath: "/s/machines/m"))
        #expect(env.dockerHost == "tcp://10.1.2.3:2376")
        #expect(env.certPath == "/s/machines/m")
    }

    @Test("berth config")
    func config() {
        let flags = DockerConfigFlags(machineDirectory: URL(fileURLWithPath: "/root/.berth/machines/dev"), ip: "192.168.122.10")
        #expect(flags.render() == """
            --tlsverify
            --tlscacert="/root/.berth/machines/dev/ca.pem"
            --tlscert="/root/.berth/machines/dev/cert.pem"
            --tlskey="/root/.berth/machines/dev/key.pem"
            -H=tcp://192.168.122.10:2376

            """)
        #expect(flags.arguments.last == "-H=tcp://192.168.122.10:2376")
        #expect(flags.arguments[1] == "--tlscacert=/root/.berth/machines/dev/ca.pem")
    }

    @Test("berth config quotes paths like Go's %q")
    func configQuoting() {
        let flags = DockerConfigFlags(certDirectory: #"/home/a "b"/m"#, dockerHost: "tcp://1.2.3.4:2376")
        #expect(flags.render().contains(#"--tlscacert="/home/a \"b\"/m/ca.pem""#))
    }
}
