€
"serveŸ
M
serving_default_xPlaceholder*
_output_shapes

:*
dtype0
U
StatefulPartitionedCallStatefulPartitionedCallserving_default_x*
f	R
ring0ö
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
w

ring0
a0
out+
nextPartitionedCalla0*
f	R
ring1
selfring0next:output:0"
outself:output:0
w

ring1
a0
out+
nextPartitionedCalla0*
f	R
ring2
selfring1next:output:0"
outself:output:0
w

ring2
a0
out+
nextPartitionedCalla0*
f	R
ring0
selfring2next:output:0"
outself:output:0*S
serving_default@

x
serving_default_x:0 
y
StatefulPartitionedCall:0