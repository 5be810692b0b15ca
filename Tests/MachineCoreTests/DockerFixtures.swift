// Docker Engine API answers in the shapes the Engine API reference documents (EventMessage,
// ContainerSummary with PortSummary, ContainerInspectResponse with NetworkSettings.Ports).

enum DockerFixtures {
    static let webID = "4a1b6c0e2f1d8e7c9b3a5d4f6e8a0b2c4d6e8f0a1b3c5d7e9f1a3b5c7d9e1f3a"
    static let dnsID = "9c2d4e6f8a0b1c3d5e7f9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d9e0f2a4b6c8d"

    /// Docker 20–28: the new fields plus the deprecated status/id/from.
    static let startEvent = #"{"status":"start","id":"\#(webID)","from":"nginx:alpine","Type":"container","Action":"start","Actor":{"ID":"\#(webID)","Attributes":{"image":"nginx:alpine","maintainer":"NGINX Docker Maintainers <docker-maint@nginx.com>","name":"web"}},"scope":"local","time":1732886400,"timeNano":1732886400123456789}"#

    static let dieEvent = #"{"status":"die","id":"\#(webID)","from":"nginx:alpine","Type":"container","Action":"die","Actor":{"ID":"\#(webID)","Attributes":{"execDuration":"12","exitCode":"0","image":"nginx:alpine","name":"web"}},"scope":"local","time":1732886412,"timeNano":1732886412000000001}"#

    /// API 1.52 and later drop the deprecated fields.
    static let destroyEvent = #"{"Type":"container","Action":"destroy","Actor":{"ID":"\#(webID)","Attributes":{"image":"nginx:alpine","name":"café"}},"scope":"local","time":1732886413,"timeNano":1732886413000000000}"#

    static let execEvent = #"{"status":"exec_start: sh -c echo hi","id":"\#(webID)","from":"nginx:alpine","Type":"container","Action":"exec_start: sh -c echo hi","Actor":{"ID":"\#(webID)","Attributes":{"execID":"77aa","image":"nginx:alpine","name":"web"}},"scope":"local","time":1732886405,"timeNano":1732886405000000000}"#

    static let networkEvent = #"{"Type":"network","Action":"connect","Actor":{"ID":"b1f2e3d4c5b6a7980123456789abcdef0123456789abcdef0123456789abcdef","Attributes":{"container":"\#(webID)","name":"bridge","type":"bridge"}},"scope":"local","time":1732886400,"timeNano":1732886400000000000}"#

    /// Engines before API 1.22 sent only these.
    static let legacyEvent = #"{"status":"die","id":"\#(dnsID)","from":"busybox","time":1450000000}"#

    /// `GET /containers/json`: web publishes 8080 on all addresses (listed for IPv4 and IPv6)
    /// and exposes 443 without publishing it; dns publishes 5353/udp on the machine's loopback.
    static let containerList = #"""
    [
      {"Id":"\#(webID)","Names":["/web"],"Image":"nginx:alpine","ImageID":"sha256:1f2e3d","Command":"/docker-entrypoint.sh nginx -g 'daemon off;'","Created":1732886300,
       "Ports":[{"IP":"0.0.0.0","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"IP":"::","PrivatePort":80,"PublicPort":8080,"Type":"tcp"},{"PrivatePort":443,"Type":"tcp"}],
       "Labels":{"com.example.team":"web"},"State":"running","Status":"Up 5 minutes","HostConfig":{"NetworkMode":"bridge"},
       "NetworkSettings":{"Networks":{"bridge":{"NetworkID":"b1f2","IPAddress":"172.17.0.2","Gateway":"172.17.0.1"}}},"Mounts":[]},
      {"Id":"\#(dnsID)","Names":["/dns"],"Image":"coredns/coredns","ImageID":"sha256:aa11","Command":"/coredns","Created":1732886200,
       "Ports":[{"IP":"127.0.0.1","PrivatePort":53,"PublicPort":5353,"Type":"udp"}],
       "Labels":{},"State":"running","Status":"Up 7 minutes","HostConfig":{"NetworkMode":"bridge"},
       "NetworkSettings":{"Networks":{"bridge":{"NetworkID":"b1f2","IPAddress":"172.17.0.3","Gateway":"172.17.0.1"}}},"Mounts":[]}
    ]
    """#

    /// `GET /containers/{id}/json`, trimmed of fields berth does not read.
    static let inspection = #"""
    {"Id":"\#(webID)","Created":"2024-11-29T13:25:00.123456789Z","Path":"/docker-entrypoint.sh","Args":["nginx","-g","daemon off;"],
     "State":{"Status":"running","Running":true,"Paused":false,"Restarting":false,"OOMKilled":false,"Dead":false,"Pid":1234,"ExitCode":0,"Error":"","StartedAt":"2024-11-29T13:25:01Z","FinishedAt":"0001-01-01T00:00:00Z"},
     "Image":"sha256:1f2e3d","Name":"/web","RestartCount":0,
     "HostConfig":{"NetworkMode":"bridge","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":"18053"}]}},
     "Config":{"Hostname":"4a1b6c0e2f1d","ExposedPorts":{"80/tcp":{},"443/tcp":{},"53/udp":{}}},
     "NetworkSettings":{"Bridge":"","SandboxID":"5e6f","SandboxKey":"/var/run/docker/netns/5e6f",
       "Ports":{"443/tcp":null,"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"},{"HostIp":"::","HostPort":"8080"}],"53/udp":[{"HostIp":"127.0.0.1","HostPort":"18053"}]},
       "IPAddress":"172.17.0.2","Networks":{"bridge":{"IPAddress":"172.17.0.2"}}}}
    """#

    static let stoppedInspection = #"""
    {"Id":"\#(dnsID)","Name":"/dns","State":{"Status":"exited","Running":false,"ExitCode":0},
     "NetworkSettings":{"Ports":{}}}
    """#
}
