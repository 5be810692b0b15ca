import Foundation
import Testing
@testable import MachineCore

@Suite("waiting for a user's cloud-config")
struct CloudInitCompletionTests {
    @Test func aCleanRunGivesNoWarning() {
        let output = """
            finished
            {
             "v1": {
              "datasource": "DataSourceNoCloud [seed=/dev/vdb]",
              "errors": [],
              "recoverable_errors": {}
             }
            }
            """
        #expect(CloudInitCompletion.parse(output) == .finished(errors: []))
        #expect(CloudInitCompletion.warning(for: CloudInitCompletion.parse(output), machine: "dev") == nil)
    }

    @Test func errorsCloudInitReportedBecomeOneWarningLine() throws {
        let output = """
            finished
            {"v1": {"datasource": "DataSourceNoCloud", "errors": ["('scripts_user', RuntimeError('Runparts: 1 failures (runcmd)\\nin 1 attempted commands'))"]}}
            """
        let outcome = CloudInitCompletion.parse(output)
        #expect(outcome == .finished(errors: ["('scripts_user', RuntimeError('Runparts: 1 failures (runcmd)\nin 1 attempted commands'))"]))
        let warning = try #require(CloudInitCompletion.warning(for: outcome, machine: "dev"))
        #expect(!warning.contains("\n"))
        #expect(warning.contains("scripts_user"))
        #expect(warning.contains("berth ssh dev -- sudo cat /var/log/cloud-init-output.log"))
    }

    @Test func aFailedUnitOrNoAnswerIsAFailure() {
        #expect(CloudInitCompletion.parse("failed\n") == .failed)
        #expect(CloudInitCompletion.parse("") == .failed)
        #expect(CloudInitCompletion.warning(for: .failed, machine: "dev")?.contains("cloud-init failed before it finished on dev") == true)
    }

    @Test func finishedWithoutAResultFileIsClean() {
        #expect(CloudInitCompletion.parse("finished\n") == .finished(errors: []))
    }
}
