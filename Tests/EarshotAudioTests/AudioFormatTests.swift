import EarshotAudio
import EarshotOpus
import Testing

@Suite struct AudioFormatTests {
    @Test func samplesPerFrameAtEveryModelRate() {
        #expect(PCMFormat(sampleRate: .hz8000, frameDuration: .milliseconds20).samplesPerFrame == 160)
        #expect(PCMFormat(sampleRate: .hz16000, frameDuration: .milliseconds10).samplesPerFrame == 160)
        #expect(PCMFormat(sampleRate: .hz24000, frameDuration: .milliseconds20).samplesPerFrame == 480)
        #expect(PCMFormat(sampleRate: .hz48000, frameDuration: .milliseconds20).samplesPerFrame == 960)
        #expect(PCMFormat(sampleRate: .hz16000).milliseconds(ofSamples: 161) == 10.0625)
    }
}
