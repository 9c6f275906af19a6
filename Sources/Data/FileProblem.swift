// Why a file or folder could not be read, made or written, in words that name the real fault.
// Foundation's own text is often "The operation couldn't be completed (NSCocoaErrorDomain error
// 512)"; the file system itself says which part of the path is wrong.
import Foundation

public enum FileProblem {
    /// The reason `error` (thrown while using `path`) happened.
    public static func describe(_ error: Error, path: String) -> String {
        let fm = FileManager.default
        // A parent that is a file, or missing: the path cannot be made or read below it.
        var ancestor = (path as NSString).deletingLastPathComponent
        while !ancestor.isEmpty && ancestor != "/" {
            var isDirectory: ObjCBool = false
            if fm.fileExists(atPath: ancestor, isDirectory: &isDirectory) {
                if !isDirectory.boolValue { return "\(ancestor) is a file, not a folder" }
                break
            }
            ancestor = (ancestor as NSString).deletingLastPathComponent
        }
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue,
           (error as NSError).code != CocoaError.fileWriteFileExists.rawValue {
            return "\(path) is a folder, not a file"
        }
        // The operating system's reason (strerror), where Foundation kept it.
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
        switch CocoaError.Code(rawValue: ns.code) {
        case .fileNoSuchFile, .fileReadNoSuchFile: return "no such file or folder"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied"
        case .fileWriteOutOfSpace: return "no space left on the device"
        case .fileWriteFileExists: return "it already exists"
        case .fileReadInapplicableStringEncoding, .fileReadCorruptFile: return "it is not UTF-8 text"
        default: return ns.localizedDescription
        }
    }
}
