import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Small helpers so the specs read as a tree of elements rather than string templates.
extension XMLElement {
    convenience init(_ name: String, _ attributes: KeyValuePairs<String, String?> = [:], text: String? = nil, children: [XMLElement?] = []) {
        self.init(name: name)
        for (key, value) in attributes {
            if let value { addAttribute(XMLNode.attribute(withName: key, stringValue: value) as! XMLNode) }
        }
        if let text { stringValue = text }
        for child in children.compactMap({ $0 }) { addChild(child) }
    }

    func attribute(_ name: String) -> String? { attribute(forName: name)?.stringValue }

    func child(_ name: String) -> XMLElement? { elements(forName: name).first }

    func children(_ name: String) -> [XMLElement] { elements(forName: name) }

    /// The element rendered the way every spec renders: indented, one element per line.
    var rendered: String { xmlString(options: [.nodePrettyPrint]) + "\n" }
}

/// Parses an XML document and returns its root element, or throws `SpecParseError`.
func parseRoot(_ xml: String, expecting name: String) throws -> XMLElement {
    // XMLDocument recovers from broken input; XMLParser is strict, so it decides well-formedness.
    let strict = XMLParser(data: Data(xml.utf8))
    guard strict.parse() else {
        let reason = strict.parserError.map { " (\($0.localizedDescription))" } ?? ""
        throw SpecParseError(message: "not well-formed XML\(reason)")
    }
    let document: XMLDocument
    do {
        document = try XMLDocument(xmlString: xml, options: [])
    } catch {
        throw SpecParseError(message: "not well-formed XML: \(error.localizedDescription)")
    }
    guard let root = document.rootElement(), root.name == name else {
        throw SpecParseError(message: "expected a <\(name)> document")
    }
    return root
}

/// An XML document that does not describe what the parser expected.
public struct SpecParseError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
