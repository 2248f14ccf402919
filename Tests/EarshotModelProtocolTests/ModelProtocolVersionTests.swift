import EarshotModelProtocol
import Testing

@Test func protocolVersionNamesItself() {
    #expect(ModelProtocolVersion.current == "earshot-model/1")
}
