·/
"serveÖ.
M
serving_default_xPlaceholder*
_output_shapes

:*
dtype0
T
StatefulPartitionedCallStatefulPartitionedCallserving_default_x*
fR
fan0®-
@

inner
a
out
tanhTanha*
T0"
outtanh:y:0
Æ

outer
x
y*
callPartitionedCallx*
f	R
innerB
loopWhilecall:output:0*
body	R
inner*
cond	R
inner3
addAddV2call:output:0loop:output:0*
T0"
yadd:z:0
†

fan0
a0
out(
c0PartitionedCalla0*
fR
fan11
c1PartitionedCallc0:output:0*
fR
fan1"
outc1:output:0
†

fan1
a0
out(
c0PartitionedCalla0*
fR
fan21
c1PartitionedCallc0:output:0*
fR
fan2"
outc1:output:0
†

fan2
a0
out(
c0PartitionedCalla0*
fR
fan31
c1PartitionedCallc0:output:0*
fR
fan3"
outc1:output:0
†

fan3
a0
out(
c0PartitionedCalla0*
fR
fan41
c1PartitionedCallc0:output:0*
fR
fan4"
outc1:output:0
†

fan4
a0
out(
c0PartitionedCalla0*
fR
fan51
c1PartitionedCallc0:output:0*
fR
fan5"
outc1:output:0
†

fan5
a0
out(
c0PartitionedCalla0*
fR
fan61
c1PartitionedCallc0:output:0*
fR
fan6"
outc1:output:0
†

fan6
a0
out(
c0PartitionedCalla0*
fR
fan71
c1PartitionedCallc0:output:0*
fR
fan7"
outc1:output:0
†

fan7
a0
out(
c0PartitionedCalla0*
fR
fan81
c1PartitionedCallc0:output:0*
fR
fan8"
outc1:output:0
†

fan8
a0
out(
c0PartitionedCalla0*
fR
fan91
c1PartitionedCallc0:output:0*
fR
fan9"
outc1:output:0
ˆ

fan9
a0
out)
c0PartitionedCalla0*
f	R
fan102
c1PartitionedCallc0:output:0*
f	R
fan10"
outc1:output:0
‰

fan10
a0
out)
c0PartitionedCalla0*
f	R
fan112
c1PartitionedCallc0:output:0*
f	R
fan11"
outc1:output:0
‰

fan11
a0
out)
c0PartitionedCalla0*
f	R
fan122
c1PartitionedCallc0:output:0*
f	R
fan12"
outc1:output:0
‰

fan12
a0
out)
c0PartitionedCalla0*
f	R
fan132
c1PartitionedCallc0:output:0*
f	R
fan13"
outc1:output:0
‰

fan13
a0
out)
c0PartitionedCalla0*
f	R
fan142
c1PartitionedCallc0:output:0*
f	R
fan14"
outc1:output:0
‰

fan14
a0
out)
c0PartitionedCalla0*
f	R
fan152
c1PartitionedCallc0:output:0*
f	R
fan15"
outc1:output:0
‰

fan15
a0
out)
c0PartitionedCalla0*
f	R
fan162
c1PartitionedCallc0:output:0*
f	R
fan16"
outc1:output:0
‰

fan16
a0
out)
c0PartitionedCalla0*
f	R
fan172
c1PartitionedCallc0:output:0*
f	R
fan17"
outc1:output:0
‰

fan17
a0
out)
c0PartitionedCalla0*
f	R
fan182
c1PartitionedCallc0:output:0*
f	R
fan18"
outc1:output:0
‰

fan18
a0
out)
c0PartitionedCalla0*
f	R
fan192
c1PartitionedCallc0:output:0*
f	R
fan19"
outc1:output:0
‰

fan19
a0
out)
c0PartitionedCalla0*
f	R
fan202
c1PartitionedCallc0:output:0*
f	R
fan20"
outc1:output:0
‰

fan20
a0
out)
c0PartitionedCalla0*
f	R
fan212
c1PartitionedCallc0:output:0*
f	R
fan21"
outc1:output:0
‰

fan21
a0
out)
c0PartitionedCalla0*
f	R
fan222
c1PartitionedCallc0:output:0*
f	R
fan22"
outc1:output:0
‰

fan22
a0
out)
c0PartitionedCalla0*
f	R
fan232
c1PartitionedCallc0:output:0*
f	R
fan23"
outc1:output:0
‰

fan23
a0
out)
c0PartitionedCalla0*
f	R
fan242
c1PartitionedCallc0:output:0*
f	R
fan24"
outc1:output:0
‰

fan24
a0
out)
c0PartitionedCalla0*
f	R
fan252
c1PartitionedCallc0:output:0*
f	R
fan25"
outc1:output:0
‰

fan25
a0
out)
c0PartitionedCalla0*
f	R
fan262
c1PartitionedCallc0:output:0*
f	R
fan26"
outc1:output:0
‰

fan26
a0
out)
c0PartitionedCalla0*
f	R
fan272
c1PartitionedCallc0:output:0*
f	R
fan27"
outc1:output:0
‰

fan27
a0
out)
c0PartitionedCalla0*
f	R
fan282
c1PartitionedCallc0:output:0*
f	R
fan28"
outc1:output:0
‰

fan28
a0
out)
c0PartitionedCalla0*
f	R
fan292
c1PartitionedCallc0:output:0*
f	R
fan29"
outc1:output:0
‰

fan29
a0
out)
c0PartitionedCalla0*
f	R
fan302
c1PartitionedCallc0:output:0*
f	R
fan30"
outc1:output:0
‰

fan30
a0
out)
c0PartitionedCalla0*
f	R
fan312
c1PartitionedCallc0:output:0*
f	R
fan31"
outc1:output:0
‰

fan31
a0
out)
c0PartitionedCalla0*
f	R
fan322
c1PartitionedCallc0:output:0*
f	R
fan32"
outc1:output:0
‰

fan32
a0
out)
c0PartitionedCalla0*
f	R
fan332
c1PartitionedCallc0:output:0*
f	R
fan33"
outc1:output:0
‰

fan33
a0
out)
c0PartitionedCalla0*
f	R
fan342
c1PartitionedCallc0:output:0*
f	R
fan34"
outc1:output:0
‰

fan34
a0
out)
c0PartitionedCalla0*
f	R
fan352
c1PartitionedCallc0:output:0*
f	R
fan35"
outc1:output:0
‰

fan35
a0
out)
c0PartitionedCalla0*
f	R
fan362
c1PartitionedCallc0:output:0*
f	R
fan36"
outc1:output:0
‰

fan36
a0
out)
c0PartitionedCalla0*
f	R
fan372
c1PartitionedCallc0:output:0*
f	R
fan37"
outc1:output:0
‰

fan37
a0
out)
c0PartitionedCalla0*
f	R
fan382
c1PartitionedCallc0:output:0*
f	R
fan38"
outc1:output:0
‰

fan38
a0
out)
c0PartitionedCalla0*
f	R
fan392
c1PartitionedCallc0:output:0*
f	R
fan39"
outc1:output:0
i

fan39
a0
out
op0Relua0*
T0"
op1Reluop0:output:0*
T0"
outop1:output:0*S
serving_default@

x
serving_default_x:0 
y
StatefulPartitionedCall:0