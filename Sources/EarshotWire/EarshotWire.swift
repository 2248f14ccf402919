public enum EarshotWire {}
